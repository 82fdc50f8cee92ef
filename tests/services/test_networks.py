"""Value-chain networks (issue 6), service level: the workflow, each refusal, visibility
of members-only networks, and the gap finder's ranking on a hand-built catalogue."""

from __future__ import annotations

import pytest
from sqlalchemy import event, func, select

from labnet import clock, permissions
from labnet.errors import NotFound, PermissionDenied, RuleViolation
from labnet.extensions import db
from labnet.models import AuditEvent, Lab, OutboxEmail, Role, User
from labnet.models.network import Network, NetworkMember
from labnet.services.networks import rules as nw
from labnet.services.networks.gaps import GAP_TOP_N, find_gaps


@pytest.fixture
def rctx(app):
    """A request context: the services render e-mail with absolute links."""
    with app.test_request_context():
        yield app


def _u(user) -> User:
    return db.session.get(User, user.id)


def _fields(name="Battery value chain", **kw) -> nw.NetworkFields:
    kw.setdefault("ecosystem", "energy-renewables")
    kw.setdefault("ket_code", "AMN")
    return nw.NetworkFields(name=name, **kw)


def _stage(name, kets=(), cats=(), keywords="") -> nw.StageFields:
    return nw.StageFields(name=name, ket_codes=tuple(kets), category_codes=tuple(cats),
                          keywords=keywords)


@pytest.fixture
def world(rctx, make_user, make_lab):
    """A coordinator, an admin, two labs with a manager each, and a network of two stages."""

    class W:
        pass

    w = W()
    w.coordinator = _u(make_user(roles=(Role.COORDINATOR,)))
    w.other_coordinator = _u(make_user(roles=(Role.COORDINATOR,)))
    w.admin = _u(make_user(roles=(Role.ADMIN,)))
    w.outsider = _u(make_user())
    w.lab = db.session.get(Lab, make_lab(name="Cell Lab", slug="cell-lab", country="FR").id)
    w.other_lab = db.session.get(Lab, make_lab(name="Pack Lab", slug="pack-lab").id)
    w.draft = db.session.get(Lab, make_lab(name="Draft Lab", slug="draft-lab",
                                           is_published=False).id)
    w.manager = _u(make_user(manages=(w.lab,)))
    w.other_manager = _u(make_user(manages=(w.other_lab,)))
    now = clock.utcnow()
    w.network = nw.create_network(w.coordinator, _fields(), now=now)
    w.s1 = nw.add_stage(w.coordinator, w.network, _stage("Materials", kets=("AMN",)), now=now)
    w.s2 = nw.add_stage(w.coordinator, w.network, _stage("Cells"), now=now)
    db.session.commit()
    return w


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


# --- networks ------------------------------------------------------------------------------

def test_creator_becomes_coordinator_and_the_creation_is_audited(world):
    w = world
    assert w.network.slug == "battery-value-chain"
    assert permissions.can_run_network(w.coordinator, w.network)
    assert not permissions.can_run_network(w.other_coordinator, w.network)
    assert permissions.can_run_network(w.admin, w.network)
    assert _count(AuditEvent, AuditEvent.action == "network.created") == 1


@pytest.mark.parametrize(("fields", "field", "words"), [
    (_fields(name="  "), "name", "Enter the network"),
    (_fields(name="battery VALUE chain"), "name", "already has this name"),
    (_fields(name="Other", slug="battery-value-chain"), "slug", "taken"),
    (_fields(name="Other", slug="Not A Slug!"), "slug", "lower-case"),
    (_fields(name="Other", slug="new"), "slug", "reserved"),
    (_fields(name="Other", ecosystem="space-mining"), "ecosystem", "14"),
    (_fields(name="Other", ket_code="XYZ"), "ket_code", "KET"),
    (_fields(name="Other", visibility="secret"), "visibility", "public"),
    (_fields(name="Bad\x00name"), "name", "control"),
])
def test_network_refusals_name_their_field(world, fields, field, words):
    before = _count(Network)
    with pytest.raises(RuleViolation) as caught:
        nw.create_network(world.coordinator, fields, now=clock.utcnow())
    assert caught.value.field == field and words in caught.value.message
    db.session.rollback()
    assert _count(Network) == before


def test_only_coordinators_and_admins_create_and_only_its_coordinators_edit(world):
    w = world
    with pytest.raises(PermissionDenied):
        nw.create_network(w.outsider, _fields(name="Mine"), now=clock.utcnow())
    with pytest.raises(PermissionDenied):
        nw.update_network(w.other_coordinator, w.network, _fields(name="Taken over"),
                          now=clock.utcnow())
    with pytest.raises(PermissionDenied):
        nw.add_stage(w.other_coordinator, w.network, _stage("X"), now=clock.utcnow())
    nw.add_coordinator(w.coordinator, w.network, w.other_coordinator.email.upper(),
                       now=clock.utcnow())
    nw.update_network(w.other_coordinator, w.network, _fields(name="Batteries EU"),
                      now=clock.utcnow())
    assert w.network.name == "Batteries EU"


def test_adding_a_coordinator_refuses_strangers_non_coordinators_and_twice(world):
    w = world
    for email, words in (("nobody@example.org", "Nobody"), (w.outsider.email, "not a network"),
                         (w.coordinator.email, "already")):
        with pytest.raises(RuleViolation, match=words):
            nw.add_coordinator(w.coordinator, w.network, email, now=clock.utcnow())


# --- stages --------------------------------------------------------------------------------

def _order(network) -> list[str]:
    return [v.stage.name for v in nw.network_page(network).stages]


def test_stages_reorder_retire_and_keep_history(world):
    w = world
    now = clock.utcnow()
    s3 = nw.add_stage(w.coordinator, w.network, _stage("Recycling"), now=now)
    assert _order(w.network) == ["Materials", "Cells", "Recycling"]
    nw.move_stage(w.coordinator, w.network, s3.id, "up", now=now)
    assert _order(w.network) == ["Materials", "Recycling", "Cells"]
    with pytest.raises(RuleViolation, match="already first"):
        nw.move_stage(w.coordinator, w.network, w.s1.id, "up", now=now)
    member = nw.invite(w.coordinator, w.network, w.s2.id, "cell-lab", "", now=now)
    nw.answer_invitation(w.manager, member.id, True, "", now=now)
    nw.retire_stage(w.coordinator, w.network, w.s2.id, now=now)
    page = nw.network_page(w.network)
    assert [v.stage.name for v in page.stages] == ["Materials", "Recycling"]
    assert [(v.stage.name, [m.lab_name for m in v.members]) for v in page.retired] == [
        ("Cells", ["Cell Lab"])]
    with pytest.raises(RuleViolation, match="retired"):
        nw.update_stage(w.coordinator, w.network, w.s2.id, _stage("Cells 2"), now=now)
    with pytest.raises(RuleViolation, match="retired"):
        nw.invite(w.coordinator, w.network, w.s2.id, "pack-lab", "", now=now)
    # The lab on the retired stage is no longer a member: it may be invited elsewhere.
    nw.invite(w.coordinator, w.network, w.s1.id, "cell-lab", "", now=now)


def test_a_stage_of_another_network_is_refused(world):
    w = world
    other = nw.create_network(w.other_coordinator, _fields(name="Photonics"),
                              now=clock.utcnow())
    foreign = nw.add_stage(w.other_coordinator, other, _stage("Design"), now=clock.utcnow())
    with pytest.raises(RuleViolation) as caught:
        nw.invite(w.coordinator, w.network, foreign.id, "cell-lab", "", now=clock.utcnow())
    assert caught.value.field == "stage_id"
    with pytest.raises(RuleViolation):
        nw.move_stage(w.coordinator, w.network, foreign.id, "down", now=clock.utcnow())


def test_stage_needs_refuse_unknown_codes(world):
    w = world
    with pytest.raises(RuleViolation) as caught:
        nw.add_stage(w.coordinator, w.network, _stage("X", kets=("NOPE",)), now=clock.utcnow())
    assert caught.value.field == "ket_codes"
    with pytest.raises(RuleViolation) as caught:
        nw.add_stage(w.coordinator, w.network, _stage("X", cats=("warp-drive",)),
                     now=clock.utcnow())
    assert caught.value.field == "category_codes"


# --- invitations ---------------------------------------------------------------------------

def test_invitation_answer_and_leave_with_mail_and_audit(world):
    w = world
    now = clock.utcnow()
    member = nw.invite(w.coordinator, w.network, w.s1.id, "cell-lab", "Join us <b>now</b>",
                       now=now)
    mails = db.session.scalars(select(OutboxEmail).where(
        OutboxEmail.kind == "network_invitation")).all()
    assert [m.to_addr for m in mails] == [w.manager.email]
    assert "&lt;b&gt;now&lt;/b&gt;" in mails[0].body_html
    assert nw.pending_invitation_count(w.manager) == 1
    answered = nw.answer_invitation(w.manager, member.id, True, "Happy to", now=now)
    assert answered.status == "accepted" and answered.answered_by_id == w.manager.id
    answers = db.session.scalars(select(OutboxEmail).where(
        OutboxEmail.kind == "network_answer")).all()
    assert [m.to_addr for m in answers] == [w.coordinator.email]
    assert nw.pending_invitation_count(w.manager) == 0
    assert [n.name for n, _ in nw.networks_of_lab(None, w.lab.id)] == ["Battery value chain"]
    nw.leave_network(w.manager, member.id, now=now)
    assert db.session.get(NetworkMember, member.id).status == "left"
    assert nw.networks_of_lab(None, w.lab.id) == []
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"network.invited", "network.invitation_accepted", "network.member_left"} <= actions
    with pytest.raises(RuleViolation, match="not a member"):
        nw.leave_network(w.manager, member.id, now=now)


def test_an_invitation_is_answered_once(world):
    w = world
    member = nw.invite(w.coordinator, w.network, w.s1.id, "cell-lab", "", now=clock.utcnow())
    nw.answer_invitation(w.manager, member.id, False, "Not now", now=clock.utcnow())
    with pytest.raises(RuleViolation) as caught:
        nw.answer_invitation(w.manager, member.id, True, "Changed my mind", now=clock.utcnow())
    assert "already answered (declined)" in caught.value.message
    assert caught.value.code == 409
    row = db.session.get(NetworkMember, member.id)
    assert (row.status, row.answer_message) == ("declined", "Not now")


def test_only_the_labs_managers_answer(world):
    w = world
    member = nw.invite(w.coordinator, w.network, w.s1.id, "cell-lab", "", now=clock.utcnow())
    for stranger in (w.other_manager, w.outsider, w.coordinator):
        with pytest.raises(NotFound):
            nw.answer_invitation(stranger, member.id, True, "", now=clock.utcnow())
    assert db.session.get(NetworkMember, member.id).status == "invited"


@pytest.mark.parametrize(("slug", "words"), [
    ("draft-lab", "no published lab"), ("no-such-lab", "no published lab"),
    ("", "Enter the lab"), ("cell-lab", "already invited")])
def test_invitation_refusals(world, slug, words):
    w = world
    nw.invite(w.coordinator, w.network, w.s2.id, "cell-lab", "", now=clock.utcnow())
    db.session.commit()
    before = _count(NetworkMember)
    with pytest.raises(RuleViolation) as caught:
        nw.invite(w.coordinator, w.network, w.s1.id, slug, "", now=clock.utcnow())
    assert caught.value.field == "lab" and words in caught.value.message
    db.session.rollback()
    assert _count(NetworkMember) == before


def test_removing_a_member_keeps_the_row_and_tells_the_lab(world):
    w = world
    member = nw.invite(w.coordinator, w.network, w.s1.id, "cell-lab", "", now=clock.utcnow())
    nw.answer_invitation(w.manager, member.id, True, "", now=clock.utcnow())
    with pytest.raises(PermissionDenied):
        nw.remove_member(w.other_coordinator, w.network, member.id, now=clock.utcnow())
    nw.remove_member(w.coordinator, w.network, member.id, now=clock.utcnow())
    assert db.session.get(NetworkMember, member.id).status == "removed"
    assert _count(OutboxEmail, OutboxEmail.kind == "network_ended") == 1
    with pytest.raises(RuleViolation):
        nw.remove_member(w.coordinator, w.network, member.id, now=clock.utcnow())


# --- visibility ----------------------------------------------------------------------------

def test_members_only_networks_are_seen_by_coordinators_members_and_admins_only(world):
    w = world
    now = clock.utcnow()
    hidden = nw.create_network(w.coordinator, _fields(name="Secret chain",
                                                      visibility="members"), now=now)
    stage = nw.add_stage(w.coordinator, hidden, _stage("Only"), now=now)
    member = nw.invite(w.coordinator, hidden, stage.id, "cell-lab", "", now=now)
    db.session.commit()

    def sees(actor) -> bool:
        names = {n.name for n in db.session.scalars(permissions.visible_networks(actor))}
        try:
            permissions.network_for(actor, hidden.slug)
            direct = True
        except NotFound:
            direct = False
        assert direct == ("Secret chain" in names)
        return direct

    # Invited is not yet a member.
    assert [sees(a) for a in (None, w.outsider, w.manager, w.other_coordinator)] == [
        False, False, False, False]
    assert sees(w.coordinator) and sees(w.admin)
    nw.answer_invitation(w.manager, member.id, True, "", now=now)
    assert sees(w.manager)
    assert [n.name for n, _ in nw.networks_of_lab(w.outsider, w.lab.id)] == []
    assert [n.name for n, _ in nw.networks_of_lab(w.manager, w.lab.id)] == ["Secret chain"]
    ids = lambda actor: set(db.session.scalars(nw.member_lab_ids(actor, hidden.slug)))  # noqa: E731
    assert ids(w.outsider) == set() and ids(None) == set()
    assert ids(w.manager) == {w.lab.id}


# --- the gap finder ------------------------------------------------------------------------

@pytest.fixture
def catalogue(rctx, make_user, make_lab, make_equipment):
    """A hand-built catalogue whose right answer is known (see the test)."""
    coordinator = _u(make_user(roles=(Role.COORDINATOR,)))
    admin = _u(make_user(roles=(Role.ADMIN,)))

    def lab(slug, country, lat, lon, kets=(), caps="", sem=None, **kw):
        # Unmanaged labs: invitations reach them at their public address (DESIGN rule 8).
        kw.setdefault("contact_email", f"info@{slug}.example")
        made = make_lab(name=slug.upper(), slug=slug, country=country, lat=lat, lon=lon,
                        kets=kets, capabilities=caps, **kw)
        if sem:
            make_equipment(made, category_code="sem", status=sem)
        return made

    # Members: A (Aachen, DE) and B (Grenoble, FR) on stage 1; C (Stuttgart, DE) on stage 3.
    lab("a", "DE", 50.77, 6.08, kets=("AMN",))
    lab("b", "FR", 45.18, 5.72, kets=("AMN",))
    lab("c", "DE", 48.78, 9.18, kets=("AMT",))
    # Candidates for stage 2 (AMN.CHR, sem, "failure analysis"):
    lab("l1", "NL", 51.44, 5.48, kets=("AMN.CHR",), caps="Failure analysis of parts",
        sem="active")
    lab("l2", "BE", 50.88, 4.70, kets=("AMN", "AMN.CHR"), sem="active")
    lab("l3", "PL", 52.23, 21.01, kets=("AMN.CHR",), sem="maintenance")
    lab("l4", "DE", 50.0, 8.0, kets=("AMN",))  # the parent area does not meet a sub-area
    lab("l5", "NL", 51.0, 5.0, kets=("AMN.CHR",), caps="failure analysis", sem="active",
        is_published=False)  # a draft
    lab("l6", "DK", 55.7, 12.5, kets=("AMN.CHR",), sem="active")  # invited already
    lab("l7", "ES", 41.4, 2.1, kets=("AMN.SUR",), sem="retired")  # retired equipment
    # Candidates for stage 3 (AMT, "pilot line"), members only in DE so far:
    lab("l8", "DE", 52.5, 13.4, kets=("AMT.ADD",), caps="Pilot line for batteries")
    lab("l9", "AT", 47.07, 15.45, kets=("AMT.ADD",), caps="A PILOT LINE for cells")
    lab("l10", "IT", 44.4, 8.9, kets=("AMT",))
    now = clock.utcnow()
    network = nw.create_network(coordinator, _fields(name="Gap test"), now=now)
    s1 = nw.add_stage(coordinator, network, _stage("Materials", kets=("AMN",)), now=now)
    s2 = nw.add_stage(coordinator, network, _stage(
        "Characterisation", kets=("AMN.CHR",), cats=("sem",), keywords="failure analysis"),
        now=now)
    s3 = nw.add_stage(coordinator, network, _stage("Pilot", kets=("AMT",),
                                                   keywords="pilot line"), now=now)
    for slug, stage in (("a", s1), ("b", s1), ("c", s3)):
        m = nw.invite(coordinator, network, stage.id, slug, "", now=now)
        nw.answer_invitation(admin, m.id, True, "", now=now)
    nw.invite(coordinator, network, s1.id, "l6", "", now=now)
    db.session.commit()
    return network, (s1, s2, s3)


def test_gap_finder_ranks_by_fit_then_distance(catalogue):
    network, _stages = catalogue
    gaps = find_gaps(network)
    assert [(g.stage.name, g.reason) for g in gaps] == [
        ("Characterisation", "empty"), ("Pilot", "one-country")]
    chars, pilot = gaps
    # l1 meets all three needs; l2 and l3 two each, l2 (Leuven) being nearer to Aachen.
    assert [c.slug for c in chars.candidates] == ["l1", "l2", "l3"]
    assert [c.score for c in chars.candidates] == [3, 2, 2]
    first = chars.candidates[0]
    assert (first.ket_hits, first.category_hits, first.keyword_hits) == (
        ["AMN.CHR"], ["sem"], ["failure analysis"])
    assert chars.candidates[1].distance_km < chars.candidates[2].distance_km
    assert 90 < chars.candidates[1].distance_km < 130  # Leuven–Aachen
    # Stage 3: German labs would not close a one-country gap; AMT includes AMT.ADD.
    assert [c.slug for c in pilot.candidates] == ["l9", "l10"]
    assert pilot.candidates[0].ket_hits == ["AMT"]
    assert pilot.candidates[0].keyword_hits == ["pilot line"]


def test_gap_finder_issues_a_constant_number_of_queries(catalogue, make_lab):
    network, _ = catalogue
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    def run() -> int:
        statements.clear()
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            find_gaps(network)
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
        return len(statements)

    small = run()
    for i in range(15):
        make_lab(slug=f"more-{i}", kets=("AMN.CHR", "AMT"), country="SE", lat=59.3, lon=18.0,
                 capabilities="pilot line")
    assert run() == small
    assert len(find_gaps(network)[0].candidates) == GAP_TOP_N


def test_demo_seed_builds_four_networks_with_gaps_idempotently(rctx):
    from labnet.services.seed import seed_demo

    seed_demo(now=clock.utcnow())
    seed_demo(now=clock.utcnow())
    db.session.commit()
    networks = db.session.scalars(select(Network).order_by(Network.slug)).all()
    assert [n.slug for n in networks] == ["biotech-scale-up", "european-battery-chain",
                                          "photonics-pic-chain", "semiconductor-pilot-lines"]
    coordinator = db.session.scalar(select(User).where(
        User.email == "coordinator@labnet.example"))
    manager = db.session.scalar(select(User).where(User.email == "manager@labnet.example"))
    assert all(permissions.can_run_network(coordinator, n) for n in networks)
    assert {n.slug for n in db.session.scalars(permissions.visible_networks(None))} == {
        "biotech-scale-up", "european-battery-chain", "photonics-pic-chain"}
    assert nw.pending_invitation_count(manager) == 2
    for network in networks:
        gaps = find_gaps(network)
        assert any(g.reason == "empty" and g.candidates for g in gaps), network.slug
