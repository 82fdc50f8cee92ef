"""Shared vocabulary of the authorisation matrix: actors, expected-status tables, Case."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

ACTORS = ("anonymous", "member", "outsider", "other_manager", "manager", "coordinator", "admin",
          "verifier")
# The verifier (``people.verifier``) is a member of an organisation of their own holding the
# verifier role: outside every organisation, lab and network of the cast. So wherever a case
# does not name them they are answered as the outsider is (``Case.__post_init__``); the
# accreditation and label cases name them where the role opens a page or an action.
ALL_OK = dict.fromkeys(ACTORS, 200)


def only(allowed: tuple[str, ...], ok: int, refused: int, anonymous: int | None = None):
    table = {a: (ok if a in allowed else refused) for a in ACTORS}
    if anonymous is not None and "anonymous" not in allowed:
        table["anonymous"] = anonymous
    return table


ADMIN_GET = only(("admin",), 200, 403, anonymous=302)
ADMIN_POST = only(("admin",), 302, 403, anonymous=302)
LOGGED_IN = {a: (302 if a == "anonymous" else 200) for a in ACTORS}
MANAGERS_ONLY_404 = only(("manager", "admin"), 200, 404)
# Who sees the matrix's members-only network ``mx-hidden`` (cases/networks.seed): the
# manager of its member lab, its coordinator, admins.
HIDDEN_SEERS = ("manager", "coordinator", "admin")


@dataclass
class Case:
    endpoint: str
    method: str
    url: Callable[[Any], str]
    expected: dict[str, int]
    data: Callable[[Any], dict[str, Any]] = field(default=lambda p: {})
    name: str = ""
    # Visibility cases (GET answers that show an organisation's or a network's data): the
    # text ``shows(cast)`` appears in the answer exactly for the ``seers``. The matrix
    # checks it, and runs these cases again with the per-process caches on
    # (test_matrix.test_visibility_holds_with_caches_on, DESIGN rule 9).
    shows: Callable[[Any], str] | None = None
    seers: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if "verifier" not in self.expected:
            self.expected = {**self.expected, "verifier": self.expected["outsider"]}

    @property
    def id(self) -> str:
        return f"{self.endpoint}-{self.method}{'-' + self.name if self.name else ''}"
