"""Whether a person takes part in an event: the one question the Meet page (issue 15 §5)
asks of registrations (issue 15 §3, ``labnet.models.training``).

Rule owned here: a person takes part when they hold a seat (registered, not on the waiting
list, not cancelled).
"""

from __future__ import annotations

from labnet.models import User
from labnet.models.events import Event


def is_registered(event: Event, user: User) -> bool:
    """Whether ``user`` holds a seat at ``event``.

    TODO(events-meet): answer from events-reg's ``Registration`` once its models are on
    this branch; until then nobody counts as registered (the Meet page refuses everyone
    but the organisers), which is the safe answer, not a fake one.
    """
    del event, user
    return False
