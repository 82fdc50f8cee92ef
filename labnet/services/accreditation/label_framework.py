"""The LabNet excellence framework, read from ``labnet/data/excellence_framework.yaml``,
and the rule that turns agreed scores into a level.

Rules owned here:

- the framework's shape: groups of criteria, each scored 0 to ``scale_max`` with a meaning
  per score; levels ordered from the lowest, each with a minimum total and a minimum per
  group (:func:`problems` lists what is inconsistent; the tests keep it empty);
- **the level** (:func:`level_for`): the highest level whose total and every group minimum
  the agreed scores reach, or none with the reasons.

The framework's texts are shipped data, translated in ``labnet/data/i18n/<lang>.yaml``
(kind ``excellence_framework``, keyed by the group, criterion and level codes);
:func:`shown` gives the framework in the reader's language for pages and e-mails.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

from labnet.data import DATA_DIR
from labnet.i18n import LazyText, _l, data_name, number

FRAMEWORK_FILE = "excellence_framework.yaml"
SCHEME_CODE = "labnet-excellence"
#: The framework's kind of shipped data (labnet.i18n.DATA_KINDS): code → its fields
#: (a group's ``name``; a criterion's ``title``, ``question``, ``evidence`` and
#: ``scale_0``…``scale_4``; a level's ``name`` and ``meaning``).
DATA_KIND = "excellence_framework"


@dataclass(frozen=True)
class Criterion:
    """One question of the framework, scored 0–``scale_max`` (``scale``: score → meaning)."""

    code: str
    group: str
    title: str
    question: str
    evidence: str
    scale: dict[int, str]


@dataclass(frozen=True)
class Group:
    """A group of criteria; every level needs a minimum sum in each group."""

    code: str
    name: str
    criteria: tuple[Criterion, ...]


@dataclass(frozen=True)
class Level:
    """A level (Bronze, Silver, Gold): a minimum total and a minimum per group."""

    code: str
    name: str
    min_total: float
    min_group: float
    meaning: str


@dataclass(frozen=True)
class Framework:
    """The whole framework: groups in order, levels from the lowest."""

    name: str
    version: str
    validity_months: int
    scale_max: int
    groups: tuple[Group, ...]
    levels: tuple[Level, ...]

    @property
    def criteria(self) -> tuple[Criterion, ...]:
        """Every criterion, group by group."""
        return tuple(c for g in self.groups for c in g.criteria)

    @property
    def codes(self) -> tuple[str, ...]:
        """The criterion codes in order."""
        return tuple(c.code for c in self.criteria)

    def criterion(self, code: str) -> Criterion | None:
        """The criterion of ``code``, or None."""
        return next((c for c in self.criteria if c.code == code), None)

    def level(self, code: str | None) -> Level | None:
        """The level of ``code``, or None."""
        return next((lv for lv in self.levels if lv.code == code), None)

    @property
    def max_total(self) -> int:
        """The highest possible total."""
        return self.scale_max * len(self.criteria)


def parse(raw: Mapping[str, Any]) -> Framework:
    """The framework from its YAML mapping (a ``KeyError``/``TypeError`` on a missing part)."""
    groups = tuple(
        Group(code=g["code"], name=g["name"], criteria=tuple(
            Criterion(code=c["code"], group=g["code"], title=c["title"],
                      question=c["question"], evidence=c["evidence"],
                      scale={int(k): str(v) for k, v in c["scale"].items()})
            for c in g["criteria"]))
        for g in raw["groups"])
    levels = tuple(Level(code=lv["code"], name=lv["name"], min_total=float(lv["min_total"]),
                         min_group=float(lv["min_group"]), meaning=lv.get("meaning", ""))
                   for lv in raw["levels"])
    return Framework(name=raw["name"], version=str(raw["version"]),
                     validity_months=int(raw["validity_months"]),
                     scale_max=int(raw["scale_max"]), groups=groups, levels=levels)


@cache
def framework() -> Framework:
    """The shipped framework, read once per process."""
    import yaml

    with (DATA_DIR / FRAMEWORK_FILE).open(encoding="utf-8") as fh:
        return parse(yaml.safe_load(fh))


def problems(fw: Framework) -> list[str]:
    """What makes a framework inconsistent (empty when it is fine): duplicate or empty
    groups and criteria, an incomplete scale, levels that are not strictly increasing or
    that no scores can reach."""
    found: list[str] = []
    codes = [c.code for c in fw.criteria]
    if len(set(codes)) != len(codes):
        found.append("criterion codes repeat")
    if len({g.code for g in fw.groups}) != len(fw.groups):
        found.append("group codes repeat")
    for group in fw.groups:
        if not group.criteria:
            found.append(f"group {group.code} has no criteria")
    for c in fw.criteria:
        if sorted(c.scale) != list(range(fw.scale_max + 1)):
            found.append(f"{c.code}: the scale is not 0–{fw.scale_max}")
        if not (c.question.strip() and c.evidence.strip() and all(c.scale.values())):
            found.append(f"{c.code}: a question, the evidence or a score's meaning is empty")
    if not fw.levels:
        found.append("no levels")
    smallest = min((len(g.criteria) for g in fw.groups), default=0) * fw.scale_max
    previous: Level | None = None
    for level in fw.levels:
        if level.min_total > fw.max_total or level.min_group > smallest:
            found.append(f"level {level.code} cannot be reached")
        if level.min_group * len(fw.groups) > fw.max_total:
            found.append(f"level {level.code}: the group minima exceed the maximum total")
        if previous and not (level.min_total > previous.min_total
                             and level.min_group >= previous.min_group):
            found.append(f"level {level.code} is not above {previous.code}")
        previous = level
    if fw.validity_months <= 0:
        found.append("the validity is not positive")
    return found


@dataclass(frozen=True)
class Outcome:
    """What the agreed scores reach."""

    level: Level | None
    total: float
    by_group: dict[str, float]
    # Why the level is no higher (why not awarded, when None): texts read (``str``) in the
    # reader's language.
    reasons: tuple[LazyText, ...]


def shown(fw: Framework | None = None) -> Framework:
    """``fw`` (the shipped framework) with its texts in the current language, English
    where no translation is given; codes, scores and levels unchanged."""
    fw = fw or framework()

    def text(code: str, english: str, field: str) -> str:
        return data_name(DATA_KIND, code, english, field)

    groups = tuple(replace(
        g, name=text(g.code, g.name, "name"), criteria=tuple(replace(
            c, title=text(c.code, c.title, "title"),
            question=text(c.code, c.question, "question"),
            evidence=text(c.code, c.evidence, "evidence"),
            scale={k: text(c.code, v, f"scale_{k}") for k, v in c.scale.items()})
            for c in g.criteria)) for g in fw.groups)
    levels = tuple(replace(lv, name=text(lv.code, lv.name, "name"),
                           meaning=text(lv.code, lv.meaning, "meaning")) for lv in fw.levels)
    return replace(fw, groups=groups, levels=levels)


def criterion_label(criterion: Criterion) -> LazyText:
    """"S1 · Mission and KET positioning", read in the reader's language (form labels)."""
    return LazyText(lambda: f"{criterion.code} · "
                            f"{data_name(DATA_KIND, criterion.code, criterion.title, 'title')}")


def _named(code: str, english: str) -> LazyText:
    """A level's or group's name, read in the reader's language."""
    return LazyText(data_name, DATA_KIND, code, english)


def _points(value: float) -> LazyText:
    return LazyText(number, value)


def level_for(agreed: Mapping[str, float], fw: Framework | None = None) -> Outcome:
    """The highest level the agreed scores reach (``None``: not awarded), with the reasons
    the next level up (or Bronze) is missed, in words for the lab."""
    fw = fw or framework()
    by_group = {g.code: sum(agreed.get(c.code, 0) for c in g.criteria) for g in fw.groups}
    total = sum(by_group.values())
    reached: Level | None = None
    reasons: tuple[LazyText, ...] = ()
    for level in fw.levels:
        missing = []
        if total < level.min_total:
            missing.append(_l("%(level)s needs a total of %(needed)s of %(most)s; the "
                              "agreed scores total %(total)s.",
                              level=_named(level.code, level.name),
                              needed=_points(level.min_total), most=_points(fw.max_total),
                              total=_points(total)))
        for group in fw.groups:
            if by_group[group.code] < level.min_group:
                missing.append(_l("%(level)s needs at least %(needed)s in “%(group)s”; "
                                  "the agreed scores give %(given)s.",
                                  level=_named(level.code, level.name),
                                  group=_named(group.code, group.name),
                                  needed=_points(level.min_group),
                                  given=_points(by_group[group.code])))
        if missing:
            reasons = tuple(missing)
            break
        reached = level
    return Outcome(level=reached, total=total, by_group=by_group, reasons=reasons)
