"""Who is told when an event changes for its participants.

:func:`event_cancelled` is the one hook the events service calls when an event is
cancelled, in the cancelling transaction. Registrations belong to the registration service,
which tells every registered and waiting person; the seats need no release
(no seat of a cancelled event is offered or taken again).
"""

from __future__ import annotations

from datetime import datetime

from labnet.models import Event


def event_cancelled(event: Event, now: datetime) -> list[str]:
    """Tell the people registered for ``event`` (just cancelled) that it will not take
    place, with the organisers' reason; answers the addresses written to the outbox.

    Everyone registered, offered a seat or waiting is told
    (``services.training.registration.tell_event_cancelled``); nobody else (DESIGN rule 8:
    no e-mail is written without a receiver).
    """
    from labnet.services.training.registration import tell_event_cancelled

    return tell_event_cancelled(event, now=now)


def seats_added(event: Event, now: datetime) -> int:
    """The organisers raised the capacity (or lifted it): the new seats are offered at once
    to the people waiting, in order (``services.training.registration.fill_free_seats``);
    answers how many offers were made."""
    from labnet.services.training.registration import fill_free_seats

    return fill_free_seats(event.id, now=now)
