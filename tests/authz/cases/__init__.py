"""Every (endpoint, method) of the app with the status each kind of user must get.

One module per area, so each area's routes are listed beside each other; the matrix test
and the route-coverage test read the concatenation.
"""

from tests.authz.cases import accreditations as accreditation_cases
from tests.authz.cases import administration, api, bookings, core, feeds, lab_bookings, manage, maps
from tests.authz.cases import dashboard as dashboard_cases
from tests.authz.cases import events as event_cases
from tests.authz.cases import lab_create as lab_create_cases
from tests.authz.cases import label as label_cases
from tests.authz.cases import meetings as meeting_cases
from tests.authz.cases import networks as network_cases
from tests.authz.cases import ops as ops_cases
from tests.authz.cases import organisation as organisation_cases
from tests.authz.cases import requests as request_cases
from tests.authz.cases import team as team_cases
from tests.authz.cases import training as training_cases

CASES = [*core.CASES, *maps.CASES, *manage.CASES, *bookings.CASES, *lab_bookings.CASES,
         *feeds.CASES, *request_cases.CASES,
         *dashboard_cases.CASES, *network_cases.CASES, *organisation_cases.CASES,
         *team_cases.CASES, *label_cases.CASES,
         *lab_create_cases.CASES, *administration.CASES, *ops_cases.CASES,
         *accreditation_cases.CASES, *api.CASES, *training_cases.CASES,
         *event_cases.CASES, *meeting_cases.CASES]
