"""Matrix entries for the calendar feeds (``feeds.*``).

``/feeds/<token>.ics`` needs no login: the token is the credential, so every actor gets the
same answer, 404 for a token that opens nothing (valid, revoked and lost-right tokens are
in ``tests/web/test_feeds.py``). The account pages are for logged-in users; regenerating a
feed that is not one's own is 404 and changes nothing.
"""

from __future__ import annotations

from tests.authz.cases.base import ACTORS, LOGGED_IN, Case

CASES = [
    Case("feeds.feed", "GET", lambda p: f"/feeds/{'0' * 64}.ics", dict.fromkeys(ACTORS, 404),
         name="unknown-token"),
    Case("feeds.calendar", "GET", lambda p: "/account/calendar", LOGGED_IN),
    Case("feeds.regenerate", "POST", lambda p: "/account/calendar/regenerate",
         {a: (302 if a == "anonymous" else 404) for a in ACTORS},
         data=lambda p: {"feed": "999999"}, name="not-mine"),
    Case("feeds.regenerate", "POST", lambda p: "/account/calendar/regenerate",
         {a: (302 if a == "anonymous" else 404) for a in ACTORS},
         data=lambda p: {}, name="no-feed"),
]
