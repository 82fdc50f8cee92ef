"""The booking area: booking writes, time in a lab's zone, the booking jobs and calendar feeds.

The rules live in the modules of this package, each naming those it owns:

- :mod:`.engine`: every write to a booking; no overlap (DESIGN rule 1), the booking rules
  (DESIGN rule 2), compare-and-set state changes with audit and e-mail;
- :mod:`.availability`: opening hours, booking units and daylight saving in the lab's
  IANA zone, instants in UTC (DESIGN rule 3);
- :mod:`.reminders`: the scheduler's jobs (reminders, hold warnings, completion), each
  effect exactly once;
- :mod:`.sme_proof`: a lab asks for proof of a self-declared SME size class;
- :mod:`.calendars`: iCalendar feeds behind secret, regenerable URLs, re-checked on every
  fetch (DESIGN rule 6).
"""
