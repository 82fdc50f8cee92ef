"""Forms that create labs: shape only. The profile's fields are those of the lab-manager
profile form (the same field objects, so labels, lengths and formats cannot drift); the
rules are in ``services.catalogue.labs`` (creation and profile)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import Length

from labnet.blueprints.manage.forms import LabProfileForm, no_nul, one_line, strip
from labnet.i18n import _l
from labnet.services.catalogue.labs.creation import MAX_REASON

_profile = LabProfileForm


class NewLabForm(FlaskForm):
    """What a new lab needs: profile, KET areas, contact, address. The booking policy
    starts at its defaults and is edited later, with the opening hours."""

    name = _profile.name
    kind_code = _profile.kind_code
    description = _profile.description
    capabilities = _profile.capabilities
    ket_codes = _profile.ket_codes
    contact_name = _profile.contact_name
    contact_email = _profile.contact_email
    contact_phone = _profile.contact_phone
    website = _profile.website
    address = _profile.address
    postal_code = _profile.postal_code
    city = _profile.city
    country = _profile.country
    timezone = _profile.timezone
    lat = _profile.lat
    lon = _profile.lon


class CreateLabForm(NewLabForm):
    """An admin's or coordinator's new lab, of an existing or a new organisation."""

    organisation = StringField(_l("Organisation"), filters=[strip],
                               validators=[Length(max=200), one_line])
    new_organisation = BooleanField(_l("It is not on LabNet yet: create this organisation"))
    org_kind = SelectField(_l("Kind of the new organisation"), validate_choice=False, default="")
    org_country = SelectField(_l("Country of the new organisation"), validate_choice=False,
                              default="")
    is_published = BooleanField(_l("Published at once (shown in the catalogue)"), default=True)


class DeclineForm(FlaskForm):
    reason = TextAreaField(_l("Why (the proposer receives this)"),
                           validators=[Length(max=MAX_REASON), no_nul])


class ApproveForm(FlaskForm):
    pass
