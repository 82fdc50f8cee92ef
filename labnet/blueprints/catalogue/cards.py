"""The cards of /labs, drawn from the values they show and kept rendered
(:mod:`labnet.fragments`)."""

from __future__ import annotations

from typing import Any, NamedTuple

from markupsafe import Markup

from labnet import fragments


class CardHead(NamedTuple):
    """What the head of a lab's card on /labs shows (``catalogue/_card_head.html``), and
    so the key it is kept rendered under (:mod:`labnet.fragments`)."""

    slug: str
    name: str
    distance: float | None
    equipment_count: int
    kind_code: str
    kind_name: str
    organisation: str
    city: str
    country: str
    managed: bool
    kets: tuple[tuple[str, str], ...]  # (code, name) of its KET areas
    badges: tuple[tuple[str, str | None], ...]  # its verified accreditations


def lab_card_head(lab: Any, result: Any, managed_ids: set[int],
                  badges: dict[int, list[tuple[str, str | None]]]) -> Markup:
    """The head of ``lab``'s card on a page of /labs, kept rendered per shown values."""
    names = result.ket_names
    card = CardHead(
        slug=lab.slug, name=lab.name, distance=result.distances.get(lab.id),
        equipment_count=lab.equipment_count, kind_code=lab.kind.code,
        kind_name=lab.kind.name, organisation=lab.organisation.name, city=lab.city,
        country=lab.country, managed=lab.id in managed_ids,
        kets=tuple((code, names.get(code, code)) for code in result.ket_codes.get(lab.id, ())),
        badges=tuple(badges.get(lab.id) or ()))
    return fragments.rendered("catalogue/_card_head.html", card, card=card)
