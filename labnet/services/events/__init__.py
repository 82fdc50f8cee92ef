"""Projects and events: :mod:`projects` (the project registry, partners,
managers), :mod:`events` (creating, editing, publishing and cancelling events),
:mod:`listing` (the common ``/events`` page, its calendar, map, iCalendar and Atom feeds)
and :mod:`notify` (who is told when an event is cancelled). Services flush; callers commit."""
