"""Demand against supply: the coordinators' dashboard, its daily summary and the weekly digest.

Every figure is an SQL aggregate (GROUP BY, SUM, COUNT, AVG); Python only merges and
formats their result rows (at most a few hundred groups: bookings and requests of one flow,
requests of one month and kind over their KET areas). No function here loops over source
rows, and a page load issues the same statements whatever the amount of data.

Where each figure comes from
----------------------------
``activity_daily`` (the daily summary, kept by the job ``summarise-activity``), for the
two sources that reach millions of rows:

- searches and unmet searches (``demand_signal``: ``metric = 'search'``, ``unmet`` when a
  search found at most :data:`UNMET_MAX_RESULTS` labs), by day, KET area, category and
  country searched for. The summary keeps no words, so the unmet-demand table (the words
  searched) is one live GROUP BY over the period's unmet searches, a minority read through
  ``ix_demand_signal_results_at``;
- booking requests (``metric = 'booking'``, by the day the booking was requested, every
  status) by day, lab and the requesting organisation's country (demand over time, flows);
  confirmed hours (``metric = 'booked'``, confirmed or completed bookings by the day they
  start) by day, lab and equipment category (utilisation). Lab filters (country, kind, KET
  area, network, the labs a manager manages) are a join to ``lab`` at read time, so one
  summary serves every filter exactly. Each metric keeps only the dimensions read, and
  ``lab_bkg`` / ``lab_hours`` sum them per lab and day for the demand chart and the
  per-lab utilisation;
- without a lab, the lab's country as a dimension, for views with no lab filter but the
  country (a coordinator's usual view): booking requests by requesting and lab country
  (``flow``), confirmed hours by category and lab country (``cat_hours``), and request–lab
  pairs by requesting and lab country (``req_flow``, from ``request_lab``). With any other
  lab filter the flows and the per-category hours come from the per-lab rows and a query
  over the period's requests instead.

The job writes day rows (``grain = 'day'``) and sums them into month rows
(``grain = 'month'``); a dashboard by month reads month rows for the whole months of its
period and day rows for the days before and after them (a year: 11 month rows and about
30 days of day rows per combination instead of 365 days).

Requests (hundreds of thousands a year) feed the requests by kind over time, the matching
figures and the requests per KET area:

- without any lab filter (a coordinator's unfiltered view), days at least a week old and
  summarised by the job's last run come from ``request_daily`` (per day, kind and KET
  area: requests, answered, decided, accepted, declined, ``late`` = no first response
  within 7 days of creation, which is fixed once the 7 days are over; month rows for
  whole months) and
  ``request_hours_daily`` (per day, hour histograms of the time to first response and to
  decision in the fixed buckets :data:`HOUR_BUCKETS`); the requests made since (the last
  week or so) are read live, through the covering index ``ix_lab_request_dashboard``;
- with any lab filter (country, kind, KET area, network, a manager's labs), every figure is
  read live from ``lab_request`` (the covering index, a semi-join through the labs): a
  joint project sent to several labs must count once, and KET areas fall back to the labs'
  when a request names none, so per-day rows without the labs could not answer exactly.

Counts are exact either way (the tests compare both paths). The **medians are interpolated
from the hour buckets** (L + (N/2 − below) / in_bucket × width; medians cannot be summed),
on every view alike, and shown as "≈ N h"; the page says so. With lab filters one more
live query gives the request flows.

Pages are cached per process for ``DASHBOARD_CACHE_SECONDS`` (default 300) per filters
and lab scope (:func:`build_cached`): figures may be that much older than the page. The
network filter only ever names a network the viewer may see (a members-only one they do
not see is refused like a made-up slug), and a committed catalogue or network write in
this process starts new entries (``labnet.caches``, DESIGN rule 9).

The catalogue as it stands (``lab``, ``lab_ket``, ``equipment``, ``opening_hours``; tens of
thousands of rows at most): labs, equipment and bookable hours. Bookable hours of a period
are the lab's weekly opening hours × its bookable equipment (active, not "on request
only") × the period's weeks; blackouts and closed holidays are not subtracted.

Today
-----
The job runs every 15 minutes and always recomputes today (and every day a change since
its previous run touched), so searches, bookings and request flows of today are included
as of its last run; the page says until when ("summarised up to …"). Request figures of
the last week (and, with lab filters, of the whole period) are live; older requests'
answers and decisions reach the unfiltered view at the job's next run.

The job
-------
``summarise_activity`` recomputes whole days: it deletes their rows and inserts them again
from the sources, then re-sums their months, so running it twice changes nothing. The
first run (or ``full=True``, e.g. after a bulk load that wrote no audit events) rebuilds
everything; later runs find the touched days through ``demand_signal.at``,
``lab_request.created_at`` and ``updated_at`` (a response or decision after the day the
request was made: its creation day is summarised again) and the audit events every
booking and request service writes (``ix_audit_event_at``), all indexed. Two runs at once
are serialised: the job runner's lease (``job_lock``) lets one run at a time, and on
PostgreSQL a transaction-scoped advisory lock orders any other writer; SQLite has a single
writer anyway. Everything happens in the caller's one transaction.

Filters
-------
Country, kind of lab, network and the manager's own labs are properties of the lab: they
narrow bookings, utilisation, supply and flows through the lab, and requests through any
of the labs they were sent to. A KET area (an area includes its sub-areas) narrows labs by
their KET areas, requests by their own KET area (or, when they name none, by their labs'),
and searches by the KET area searched for. Searches have no lab: only the KET area and the
country searched for narrow them, and a lab manager (whose view is limited to their labs)
sees no search figures.

The package
-----------
- :mod:`.sql`: the dialect-neutral SQL constructs (UTC day, hours between, month and week
  start, ``unindexed``) and the date helpers;
- :mod:`.filters`: the dashboard's period and filters, parsed from the query string, the
  choices its form offers, and the filters as conditions on the summary and the requests;
- :mod:`.summary`: the job ``summarise-activity`` (``activity_daily``, ``request_daily``,
  ``request_hours_daily``) and the request counts both request paths share;
- :mod:`.request_figures`: the request figures, from the summary and live;
- :mod:`.figures`: the dashboard's tables, one function per section;
- :mod:`.dashboard`: the whole dashboard, its per-process cache and its CSV;
- :mod:`.digest`: the coordinators' weekly digest (job ``coordinator-digest``).

The names below are re-exported for the callers that import the package.
"""

from labnet.services.analytics.dashboard import (
    SECTIONS,
    Dashboard,
    build,
    build_cached,
    csv_rows,
)
from labnet.services.analytics.digest import digest_cutoff, send_coordinator_digest
from labnet.services.analytics.figures import (
    COUNTRY_CENTROIDS,
    Table,
    display,
    matching_figures,
)
from labnet.services.analytics.filters import (
    Filters,
    default_period,
    ket_choices,
    lab_kinds,
    network_choices,
    network_id,
    parse_filters,
)
from labnet.services.analytics.request_figures import (
    RequestFigures,
    interpolated_median,
    request_stats,
    summary_cut,
)
from labnet.services.analytics.sql import hours_between
from labnet.services.analytics.summary import HOUR_BUCKETS, summarise_activity

__all__ = [
    "COUNTRY_CENTROIDS",
    "HOUR_BUCKETS",
    "SECTIONS",
    "Dashboard",
    "Filters",
    "RequestFigures",
    "Table",
    "build",
    "build_cached",
    "csv_rows",
    "default_period",
    "digest_cutoff",
    "display",
    "hours_between",
    "interpolated_median",
    "ket_choices",
    "lab_kinds",
    "matching_figures",
    "network_choices",
    "network_id",
    "parse_filters",
    "request_stats",
    "send_coordinator_digest",
    "summarise_activity",
    "summary_cut",
]
