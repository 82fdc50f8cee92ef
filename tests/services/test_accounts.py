"""services.accounts.rules called directly: registration, confirmation, login sessions, password
change and reset. Each refusal names its field and writes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from labnet import security
from labnet.errors import RuleViolation
from labnet.extensions import db
from labnet.models import (
    AuditEvent,
    LoginSession,
    Organisation,
    OutboxEmail,
    Role,
    User,
)
from labnet.services.accounts import rules as accounts
from tests.fixtures.factories import PASSWORD

NEW_PASSWORD = "violet lantern 42"

COUNTED = (User, Organisation, OutboxEmail, AuditEvent, LoginSession)


def _counts() -> dict[str, int]:
    return {m.__name__: db.session.scalar(select(func.count()).select_from(m)) for m in COUNTED}


def _audit(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _outbox(kind: str | None = None) -> list[OutboxEmail]:
    stmt = select(OutboxEmail).order_by(OutboxEmail.id)
    if kind:
        stmt = stmt.where(OutboxEmail.kind == kind)
    return list(db.session.scalars(stmt))


def _company(name="Bright Optics", kind="company", size="small", country="it"):
    return accounts.NewOrganisation(name=name, kind=kind, size_class=size, country=country)


def _register(now, **kw):
    kw.setdefault("email", "zoe@brightoptics.example")
    kw.setdefault("full_name", "Zoë  O'Brien")
    kw.setdefault("password", NEW_PASSWORD)
    kw.setdefault("join_existing", False)
    kw.setdefault("organisation_name", "Bright Optics")
    if "new_org" not in kw:
        kw["new_org"] = None if kw["join_existing"] else _company(kw["organisation_name"])
    kw.setdefault("terms_version", "2026-12-03")
    return accounts.register_member(now=now, **kw)


def _refused(field: str | None, call, *args, **kwargs) -> RuleViolation:
    """``call`` raises a RuleViolation on ``field`` and leaves the database as it was."""
    before = _counts()
    with pytest.raises(RuleViolation) as info:
        call(*args, **kwargs)
    db.session.rollback()
    assert info.value.field == field, info.value.message
    assert _counts() == before
    return info.value


def _user(user_id: int) -> User:
    return db.session.get(User, user_id)


# -- registration --------------------------------------------------------------------------


def test_register_company_records_its_size_class_domain_and_an_unconfirmed_member(
    ctx, frozen_clock
):
    user = _register(frozen_clock.now, email="  Zoe@BrightOptics.Example ")
    db.session.commit()
    assert (user.membership, user.org_role) == ("active", "admin")  # the founder
    org = user.organisation
    assert (org.name, org.kind, org.size_class, org.country) == (
        "Bright Optics", "company", "small", "IT")
    assert org.email_domain == "brightoptics.example"
    assert org.slug == "bright-optics"
    assert user.email == "zoe@brightoptics.example"
    assert user.full_name == "Zoë O'Brien"  # whitespace folded
    assert user.email_confirmed_at is None and not user.is_confirmed
    assert user.password_hash.startswith("$argon2id$")
    assert security.verify_password(user.password_hash, NEW_PASSWORD)


@pytest.mark.parametrize("kind", ["rto", "university", "cluster", "kibs", "public_body"])
def test_register_non_company_drops_a_size_class(ctx, frozen_clock, kind):
    user = _register(frozen_clock.now,
                     new_org=_company("Institute of Photonics", kind=kind, size="medium"))
    db.session.commit()
    assert user.organisation.kind == kind
    assert user.organisation.size_class is None
    assert not user.organisation.is_sme


@pytest.mark.parametrize("size", [None, "", "huge"])
def test_register_company_without_a_valid_size_class_is_refused_on_size_class(
    ctx, frozen_clock, size
):
    refusal = _refused("size_class", _register, frozen_clock.now,
                       new_org=_company(size=size))
    assert "size class" in refusal.message


def test_register_organisation_of_unknown_kind_is_refused_on_org_kind(ctx, frozen_clock):
    _refused("org_kind", _register, frozen_clock.now, new_org=_company(kind="pirate"))


def test_register_writes_audit_event_and_queues_the_confirmation(ctx, frozen_clock):
    user = _register(frozen_clock.now)
    db.session.commit()
    [event] = _audit("user.registered")
    assert (event.actor_id, event.subject_id, event.at) == (user.id, user.id, frozen_clock.now)
    assert event.data == {"organisation_id": user.organisation_id}
    [mail] = _outbox()
    assert (mail.kind, mail.to_addr, mail.status) == ("confirm_email", user.email, "queued")
    assert "http://labnet.test/account/confirm/" in mail.body_text
    assert "Zoë O&#39;Brien" in mail.body_html  # the HTML body escapes what users typed


@pytest.mark.parametrize("email", ["zoe@brightoptics.example", "ZOE@brightoptics.example",
                                   " zoe@BRIGHTOPTICS.example"])
def test_register_with_an_address_in_use_creates_nothing_and_tells_the_owner(
    ctx, frozen_clock, make_user, email
):
    owner = make_user(email="zoe@brightoptics.example")
    before = _counts()
    assert _register(frozen_clock.now, email=email, new_org=_company("Another Name")) is None
    db.session.commit()
    after = _counts()
    assert (after["User"], after["Organisation"]) == (before["User"], before["Organisation"])
    [mail] = _outbox()
    assert (mail.kind, mail.to_addr, mail.status) == ("register_attempt", owner.email, "queued")
    assert [e.subject_id for e in _audit("user.registration_attempted")] == [owner.id]


def test_register_with_an_address_in_use_still_refuses_a_weak_password(ctx, frozen_clock,
                                                                      make_user):
    make_user(email="zoe@brightoptics.example")
    _refused("password", _register, frozen_clock.now, password="qwerty1234")


@pytest.mark.parametrize("password", ["short", "password123", "zzzzzzzzzzzz", "my-zoezoe-pass"])
def test_register_with_a_weak_password_is_refused_on_password(ctx, frozen_clock, password):
    _refused("password", _register, frozen_clock.now, email="zoezoe@brightoptics.example",
             password=password)


def test_register_new_organisation_under_a_taken_name_is_refused(ctx, frozen_clock, make_org):
    make_org(name="Bright Optics")
    refusal = _refused("organisation", _register, frozen_clock.now,
                       new_org=_company("  bright   OPTICS "))
    assert "already registered" in refusal.message


def test_register_two_organisations_whose_names_share_a_slug(ctx, frozen_clock):
    first = _register(frozen_clock.now, new_org=_company("Acme GmbH"))
    second = _register(frozen_clock.now, email="ann@other.example",
                       new_org=_company("Acme-GmbH"))
    db.session.commit()
    assert (first.organisation.slug, second.organisation.slug) == ("acme-gmbh", "acme-gmbh-2")


def _founded(make_org, make_user, **kw):
    """An organisation whose founder is its organisation admin."""
    org = make_org(name="Acme Instruments", email_domain="acme.example", **kw)
    founder = make_user(organisation=org, email="founder@acme.example", org_role="admin")
    return org, founder


def test_join_existing_organisation_is_a_pending_request_not_a_membership(
    ctx, frozen_clock, make_org, make_user
):
    org, _founder = _founded(make_org, make_user)
    user = _register(frozen_clock.now, email="Ann@ACME.example", join_existing=True,
                     organisation_name="  acme   instruments ")
    db.session.commit()
    # The address at the organisation's own domain grants nothing by itself.
    assert user.organisation_id == org.id
    assert (user.membership, user.org_role) == ("pending", "member")
    assert not user.is_member and not user.is_org_admin
    assert _counts()["Organisation"] == 1
    [mail] = _outbox("confirm_email")
    assert mail.to_addr == "ann@acme.example"
    # The organisation admins hear of it once the address is confirmed (a real request).
    assert _outbox("join_requested") == []


@pytest.mark.parametrize("email", ["ann@gmail.com", "ann@mail.acme.example",
                                   "ann@acme.example.evil.example"])
def test_join_from_any_domain_asks_the_organisation_and_names_no_domain(
    ctx, frozen_clock, make_org, make_user, email
):
    _founded(make_org, make_user)
    user = _register(frozen_clock.now, email=email, join_existing=True,
                     organisation_name="Acme Instruments")
    db.session.commit()
    assert user.membership == "pending"


def test_join_request_to_an_organisation_without_admins_reaches_the_platform_admins(
    ctx, frozen_clock, make_org, make_user
):
    org = make_org(name="Demo Centre", email_domain=None)
    admin = make_user(roles=(Role.ADMIN,))
    make_user(roles=(Role.ADMIN,), is_active=False)  # deactivated: receives nothing
    user = _register(frozen_clock.now, email="ann@demo.example", join_existing=True,
                     organisation_name="Demo Centre")
    db.session.commit()
    assert (user.organisation_id, user.membership) == (org.id, "pending")
    accounts.confirm_email(_confirm_token(user), now=frozen_clock.now)
    db.session.commit()
    [mail] = _outbox("join_requested")
    assert mail.to_addr == admin.email
    assert "has no organisation admin on LabNet" in mail.body_text
    assert "http://labnet.test/admin/join-requests" in mail.body_text


@pytest.mark.parametrize("email", ["zoe@gmail.com", "zoe@GMX.de", "zoe@hotmail.co.uk",
                                   "zoe@web.de", "zoe@proton.me", "zoe@yahoo.fr"])
def test_founding_from_a_free_mail_address_records_no_join_domain(ctx, frozen_clock, email):
    user = _register(frozen_clock.now, email=email)
    db.session.commit()
    assert user.organisation.email_domain is None
    # The founder holds the organisation-admin role first.
    assert (user.membership, user.org_role) == ("active", "admin")


def test_confirming_a_join_request_mails_the_organisation_admins(
    ctx, frozen_clock, make_org, make_user
):
    org, founder = _founded(make_org, make_user)
    make_user(organisation=org)  # a plain member: not asked
    user = _register(frozen_clock.now, email="ann@gmail.com", join_existing=True,
                     organisation_name="Acme Instruments")
    db.session.commit()
    accounts.confirm_email(_confirm_token(user), now=frozen_clock.now)
    db.session.commit()
    [mail] = _outbox("join_requested")
    assert mail.to_addr == founder.email
    assert "ann@gmail.com" in mail.body_text
    assert "http://labnet.test/organisation/members" in mail.body_text
    assert _user(user.id).membership == "pending"


def _pending(frozen_clock, email="ann@gmail.com"):
    user = _register(frozen_clock.now, email=email, join_existing=True,
                     organisation_name="Acme Instruments")
    db.session.commit()
    accounts.confirm_email(_confirm_token(user), now=frozen_clock.now)
    db.session.commit()
    return user


def test_pending_request_cannot_log_in_until_approved(ctx, frozen_clock, make_org, make_user):
    _org, founder = _founded(make_org, make_user)
    user = _pending(frozen_clock)
    refusal = _refused("email", accounts.authenticate, user.email, NEW_PASSWORD,
                       now=frozen_clock.now)
    assert "waiting for approval" in refusal.message
    # A wrong password still gets the one message for everybody.
    wrong = _refused("password", accounts.authenticate, user.email, "not the password",
                     now=frozen_clock.now)
    assert wrong.message == "Wrong e-mail address or password."
    accounts.approve_member(_user(founder.id), user.id, now=frozen_clock.now)
    db.session.commit()
    assert accounts.authenticate(user.email, NEW_PASSWORD, now=frozen_clock.now).id == user.id
    [mail] = _outbox("join_decided")
    assert mail.to_addr == user.email and "approved" in mail.body_text
    assert [e.actor_id for e in _audit("organisation.member_approved")] == [founder.id]


def test_declined_request_is_removed_and_the_person_told(ctx, frozen_clock, make_org,
                                                         make_user):
    _org, founder = _founded(make_org, make_user)
    user = _pending(frozen_clock)
    accounts.decline_member(_user(founder.id), user.id, now=frozen_clock.now)
    db.session.commit()
    assert _user(user.id) is None
    [mail] = _outbox("join_decided")
    assert mail.to_addr == "ann@gmail.com" and "declined" in mail.body_text
    # The address is free again: the person may register (e.g. their own organisation).
    _register(frozen_clock.now, email="ann@gmail.com", new_org=_company("Ann's Own Co"))
    db.session.commit()


def test_only_the_organisations_own_admins_decide(ctx, frozen_clock, make_org, make_user):
    from labnet.errors import NotFound, PermissionDenied

    org, _founder = _founded(make_org, make_user)
    member = make_user(organisation=org)
    other_org = make_org()
    other_admin = make_user(organisation=other_org, org_role="admin")
    platform_admin = make_user(roles=("admin",))
    user = _pending(frozen_clock)
    with pytest.raises(PermissionDenied):
        accounts.approve_member(_user(member.id), user.id, now=frozen_clock.now)
    with pytest.raises(PermissionDenied):
        accounts.approve_member(_user(platform_admin.id), user.id, now=frozen_clock.now)
    with pytest.raises(NotFound):
        accounts.approve_member(_user(other_admin.id), user.id, now=frozen_clock.now)
    with pytest.raises(NotFound):
        accounts.decline_member(_user(other_admin.id), user.id, now=frozen_clock.now)
    db.session.rollback()
    assert _user(user.id).membership == "pending"


def test_org_admin_role_granted_and_revoked_keeping_one_admin(ctx, frozen_clock, make_org,
                                                              make_user):
    org, founder = _founded(make_org, make_user)
    member = make_user(organisation=org)
    refusal = _refused("user", accounts.set_org_admin, _user(founder.id), founder.id, False,
                       now=frozen_clock.now)
    assert "at least one organisation admin" in refusal.message
    assert accounts.set_org_admin(_user(founder.id), member.id, True, now=frozen_clock.now)
    db.session.commit()
    assert _user(member.id).is_org_admin
    # Now the founder may step down; the new admin is the last one and stays.
    assert accounts.set_org_admin(_user(founder.id), founder.id, False, now=frozen_clock.now)
    db.session.commit()
    assert not _user(founder.id).is_org_admin
    _refused("user", accounts.set_org_admin, _user(member.id), member.id, False,
             now=frozen_clock.now)
    assert [e.action for e in _audit("organisation.admin_granted")] == [
        "organisation.admin_granted"]


# -- confirmation --------------------------------------------------------------------------


def _confirm_token(user: User) -> str:
    return security.make_token(accounts.CONFIRM_SALT, {"u": user.id, "e": user.email})


def test_confirm_email_marks_the_address_confirmed_once(ctx, frozen_clock):
    user = _register(frozen_clock.now)
    db.session.commit()
    token = _confirm_token(user)
    frozen_clock.move_to(frozen_clock.now + timedelta(days=6, hours=23))
    accounts.confirm_email(token, now=frozen_clock.now)
    db.session.commit()
    assert _user(user.id).email_confirmed_at == frozen_clock.now
    # Following the link again changes nothing and records nothing more.
    accounts.confirm_email(token, now=frozen_clock.now + timedelta(minutes=1))
    db.session.commit()
    assert _user(user.id).email_confirmed_at == frozen_clock.now
    [event] = _audit("user.email_confirmed")
    assert event.actor_id == user.id


def test_confirm_link_expires_after_seven_days(ctx, frozen_clock):
    user = _register(frozen_clock.now)
    db.session.commit()
    token = _confirm_token(user)
    frozen_clock.move_to(frozen_clock.now + timedelta(days=7, seconds=1))
    _refused(None, accounts.confirm_email, token, now=frozen_clock.now)
    assert _user(user.id).email_confirmed_at is None


@pytest.mark.parametrize("payload", [{"u": 999, "e": "x@y.example"}, {"e": "x@y.example"}, {},
                                     {"u": "1", "e": "x@y.example"}, {"u": None}])
def test_confirm_token_for_no_such_account_is_refused(ctx, frozen_clock, payload):
    token = security.make_token(accounts.CONFIRM_SALT, payload)
    _refused(None, accounts.confirm_email, token, now=frozen_clock.now)


def test_confirm_token_for_another_address_of_the_account_is_refused(ctx, frozen_clock):
    user = _register(frozen_clock.now)
    db.session.commit()
    token = security.make_token(accounts.CONFIRM_SALT, {"u": user.id, "e": "old@x.example"})
    _refused(None, accounts.confirm_email, token, now=frozen_clock.now)


def test_reset_token_does_not_confirm_an_address(ctx, frozen_clock):
    user = _register(frozen_clock.now)
    db.session.commit()
    token = security.make_token(accounts.RESET_SALT, {"u": user.id, "e": user.email})
    _refused(None, accounts.confirm_email, token, now=frozen_clock.now)


def test_resend_confirmation_only_for_an_unconfirmed_account(ctx, frozen_clock, make_user):
    confirmed = make_user()
    user = _register(frozen_clock.now)
    db.session.commit()
    accounts.resend_confirmation(" ZOE@brightoptics.example", now=frozen_clock.now)
    accounts.resend_confirmation(confirmed.email, now=frozen_clock.now)
    accounts.resend_confirmation("nobody@nowhere.example", now=frozen_clock.now)
    db.session.commit()
    assert [m.to_addr for m in _outbox("confirm_email")] == [user.email, user.email]


# -- authentication and login sessions -------------------------------------------------------


def test_authenticate_needs_a_confirmed_address(ctx, frozen_clock):
    _register(frozen_clock.now)
    db.session.commit()
    refusal = _refused("email", accounts.authenticate, "zoe@brightoptics.example",
                       NEW_PASSWORD, now=frozen_clock.now)
    assert "confirm your e-mail address" in refusal.message


def test_authenticate_gives_one_message_for_wrong_password_and_unknown_address(
    ctx, frozen_clock, make_user
):
    user = make_user()
    wrong = _refused("password", accounts.authenticate, user.email, "not the password",
                     now=frozen_clock.now)
    unknown = _refused("password", accounts.authenticate, "nobody@nowhere.example", PASSWORD,
                       now=frozen_clock.now)
    assert wrong.message == unknown.message == "Wrong e-mail address or password."


def test_authenticate_refuses_a_deactivated_account_like_a_wrong_password(
    ctx, frozen_clock, make_user
):
    user = make_user(is_active=False)
    refusal = _refused("password", accounts.authenticate, user.email, PASSWORD,
                       now=frozen_clock.now)
    assert refusal.message == "Wrong e-mail address or password."


def test_authenticate_is_case_insensitive_on_the_address_and_stamps_last_login(
    ctx, frozen_clock, make_user
):
    user = make_user()
    found = accounts.authenticate(" " + user.email.upper(), PASSWORD, now=frozen_clock.now)
    assert found.id == user.id
    assert found.last_login_at == frozen_clock.now


def test_authenticate_rehashes_a_password_hashed_with_old_parameters(
    ctx, frozen_clock, make_user
):
    old = PasswordHasher(time_cost=3, memory_cost=16, parallelism=1).hash(PASSWORD)
    user = make_user(password_hash=old)
    accounts.authenticate(user.email, PASSWORD, now=frozen_clock.now)
    db.session.commit()
    rehashed = _user(user.id).password_hash
    assert rehashed != old
    assert not security.needs_rehash(rehashed)
    assert security.verify_password(rehashed, PASSWORD)


def test_login_session_lives_twelve_hours(ctx, frozen_clock, make_user):
    user = _user(make_user().id)
    token = accounts.start_session(user, now=frozen_clock.now, user_agent="UA " * 200)
    db.session.commit()
    row = db.session.get(LoginSession, security.token_hash(token))
    assert row.user_id == user.id
    assert len(row.user_agent) == 200
    assert token not in row.token_hash  # only the digest is stored
    twelve_hours = frozen_clock.now + timedelta(hours=12)
    assert accounts.load_session_user(token, now=twelve_hours - timedelta(seconds=1)).id == user.id
    assert accounts.load_session_user(token, now=twelve_hours) is None


def test_login_session_of_a_deactivated_account_stops_working(ctx, frozen_clock, make_user):
    user = _user(make_user().id)
    token = accounts.start_session(user, now=frozen_clock.now)
    user.is_active = False
    db.session.commit()
    assert accounts.load_session_user(token, now=frozen_clock.now) is None


def test_unknown_session_token_loads_nobody(ctx, frozen_clock):
    assert accounts.load_session_user("made-up-token", now=frozen_clock.now) is None


def test_end_session_revokes_only_that_session(ctx, frozen_clock, make_user):
    user = _user(make_user().id)
    phone = accounts.start_session(user, now=frozen_clock.now)
    laptop = accounts.start_session(user, now=frozen_clock.now)
    accounts.end_session(phone, now=frozen_clock.now)
    accounts.end_session(None, now=frozen_clock.now)
    db.session.commit()
    assert accounts.load_session_user(phone, now=frozen_clock.now) is None
    assert accounts.load_session_user(laptop, now=frozen_clock.now).id == user.id


def test_start_session_ends_the_session_it_replaces(ctx, frozen_clock, make_user):
    first, second = _user(make_user().id), _user(make_user().id)
    old = accounts.start_session(first, now=frozen_clock.now)
    new = accounts.start_session(second, now=frozen_clock.now, replaces=old)
    db.session.commit()
    assert accounts.load_session_user(old, now=frozen_clock.now) is None
    assert accounts.load_session_user(new, now=frozen_clock.now).id == second.id


def test_end_session_keeps_the_time_a_session_was_first_revoked(ctx, frozen_clock, make_user):
    user = _user(make_user().id)
    token = accounts.start_session(user, now=frozen_clock.now)
    accounts.end_session(token, now=frozen_clock.now)
    accounts.end_session(token, now=frozen_clock.now + timedelta(hours=1))
    db.session.commit()
    row = db.session.get(LoginSession, security.token_hash(token))
    assert row.revoked_at == frozen_clock.now


def test_end_all_sessions_revokes_every_session_of_that_user_only(ctx, frozen_clock, make_user):
    user = _user(make_user().id)
    other = _user(make_user().id)
    mine = [accounts.start_session(user, now=frozen_clock.now) for _ in range(3)]
    theirs = accounts.start_session(other, now=frozen_clock.now)
    accounts.end_session(mine[0], now=frozen_clock.now)
    assert accounts.end_all_sessions(user, now=frozen_clock.now) == 2
    db.session.commit()
    assert all(accounts.load_session_user(t, now=frozen_clock.now) is None for t in mine)
    assert accounts.load_session_user(theirs, now=frozen_clock.now).id == other.id
    assert len(_audit("user.logout_everywhere")) == 1
    assert len(_audit("user.login")) == 4


# -- password change -----------------------------------------------------------------------


def test_change_password_sets_the_new_hash_revokes_sessions_and_is_audited(
    ctx, frozen_clock, make_user
):
    user = _user(make_user().id)
    token = accounts.start_session(user, now=frozen_clock.now)
    accounts.change_password(user, PASSWORD, NEW_PASSWORD, now=frozen_clock.now)
    db.session.commit()
    stored = _user(user.id).password_hash
    assert stored.startswith("$argon2id$")
    assert security.verify_password(stored, NEW_PASSWORD)
    assert not security.verify_password(stored, PASSWORD)
    assert accounts.load_session_user(token, now=frozen_clock.now) is None
    [event] = _audit("user.password_changed")
    assert (event.actor_id, event.subject_id) == (user.id, user.id)


@pytest.mark.parametrize(("current", "new", "field", "message"), [
    ("wrong password here", NEW_PASSWORD, "current_password", "This is not your current password."),
    (PASSWORD, PASSWORD, "password", "Choose a password different from the current one."),
    (PASSWORD, "short", "password", "Use at least 10 characters."),
    (PASSWORD, "password123", "password", "This password is too easy to guess: it is on the "
     "list of passwords leaked most often in data breaches, which attackers try first; choose "
     "another."),
])
def test_change_password_refusals_name_the_field_and_keep_the_old_password(
    ctx, frozen_clock, make_user, current, new, field, message
):
    user = _user(make_user().id)
    token = accounts.start_session(user, now=frozen_clock.now)
    db.session.commit()
    refusal = _refused(field, accounts.change_password, user, current, new,
                       now=frozen_clock.now)
    assert refusal.message == message
    stored = _user(user.id)
    assert security.verify_password(stored.password_hash, PASSWORD)
    assert accounts.load_session_user(token, now=frozen_clock.now).id == user.id


# -- password reset ------------------------------------------------------------------------


def _reset_token(email: str, now) -> str:
    accounts.request_password_reset(email, now=now)
    db.session.commit()
    mail = _outbox("reset_password")[-1]
    return mail.body_text.split("/account/reset/", 1)[1].split()[0]


def test_request_reset_for_an_unknown_or_deactivated_address_sends_nothing(
    ctx, frozen_clock, make_user
):
    inactive = make_user(is_active=False)
    before = _counts()
    accounts.request_password_reset("nobody@nowhere.example", now=frozen_clock.now)
    accounts.request_password_reset(inactive.email, now=frozen_clock.now)
    db.session.commit()
    assert _counts() == before


def test_request_reset_queues_a_link_and_records_it(ctx, frozen_clock, make_user):
    user = make_user()
    token = _reset_token(user.email.upper(), frozen_clock.now)
    [mail] = _outbox("reset_password")
    assert mail.to_addr == user.email
    assert "60 minutes" in mail.body_text
    assert accounts.user_for_reset_token(token, now=frozen_clock.now).id == user.id
    [event] = _audit("user.password_reset_requested")
    assert event.subject_id == user.id


def test_reset_link_expires_after_reset_token_max_age(ctx, app, frozen_clock, make_user):
    user = make_user()
    token = _reset_token(user.email, frozen_clock.now)
    max_age = app.config["RESET_TOKEN_MAX_AGE"]
    assert accounts.user_for_reset_token(
        token, now=frozen_clock.now + timedelta(seconds=max_age)) is not None
    later = frozen_clock.now + timedelta(seconds=max_age + 1)
    assert accounts.user_for_reset_token(token, now=later) is None
    _refused(None, accounts.reset_password, token, NEW_PASSWORD, now=later)
    assert security.verify_password(_user(user.id).password_hash, PASSWORD)


def test_reset_password_works_once_and_revokes_every_session(ctx, frozen_clock, make_user):
    user = _user(make_user().id)
    session_token = accounts.start_session(user, now=frozen_clock.now)
    db.session.commit()
    token = _reset_token(user.email, frozen_clock.now)
    accounts.reset_password(token, NEW_PASSWORD, now=frozen_clock.now)
    db.session.commit()
    assert security.verify_password(_user(user.id).password_hash, NEW_PASSWORD)
    assert accounts.load_session_user(session_token, now=frozen_clock.now) is None
    assert accounts.user_for_reset_token(token, now=frozen_clock.now) is None
    _refused(None, accounts.reset_password, token, "another fine passphrase",
             now=frozen_clock.now)
    assert security.verify_password(_user(user.id).password_hash, NEW_PASSWORD)
    assert len(_audit("user.password_reset")) == 1


def test_older_reset_link_is_spent_once_the_password_changed(ctx, frozen_clock, make_user):
    user = make_user()
    first = _reset_token(user.email, frozen_clock.now)
    second = _reset_token(user.email, frozen_clock.now)
    accounts.reset_password(second, NEW_PASSWORD, now=frozen_clock.now)
    db.session.commit()
    assert accounts.user_for_reset_token(first, now=frozen_clock.now) is None


def test_reset_with_a_weak_password_is_refused_and_the_link_still_works(
    ctx, frozen_clock, make_user
):
    user = make_user()
    token = _reset_token(user.email, frozen_clock.now)
    _refused("password", accounts.reset_password, token, "short", now=frozen_clock.now)
    assert accounts.user_for_reset_token(token, now=frozen_clock.now) is not None


def test_reset_confirms_an_unconfirmed_address(ctx, frozen_clock):
    user = _register(frozen_clock.now)
    db.session.commit()
    token = _reset_token(user.email, frozen_clock.now)
    accounts.reset_password(token, "another fine passphrase", now=frozen_clock.now)
    db.session.commit()
    assert _user(user.id).email_confirmed_at == frozen_clock.now
    accounts.authenticate(user.email, "another fine passphrase", now=frozen_clock.now)


@pytest.mark.parametrize("payload", [{}, {"h": "x"}, {"u": None, "h": "x"}, {"u": "1", "h": "x"},
                                     {"u": True, "h": "x"}, {"u": 999, "h": "x"}])
def test_reset_token_for_no_such_account_is_refused(ctx, frozen_clock, make_user, payload):
    make_user()
    token = security.make_token(accounts.RESET_SALT, payload)
    assert accounts.user_for_reset_token(token, now=frozen_clock.now) is None


@pytest.mark.parametrize(("seconds", "words"), [
    (7 * 86400, "7 days"), (86400, "1 day"), (3600, "1 hour"), (7200, "2 hours"),
    (5400, "90 minutes"), (60, "1 minute"), (90, "1 minute"), (30, "1 minute"),
])
def test_link_lifetime_in_words(seconds, words):
    assert accounts.lifetime_words(seconds) == words


def test_confirm_token_does_not_reset_a_password(ctx, frozen_clock, make_user):
    user = make_user()
    token = security.make_token(accounts.CONFIRM_SALT, {"u": user.id,
                                                        "h": user.password_hash[-16:]})
    assert accounts.user_for_reset_token(token, now=frozen_clock.now) is None


def test_a_pending_request_is_refused_by_every_permission(ctx, frozen_clock, make_org,
                                                          make_user):
    from labnet import permissions

    org, _founder = _founded(make_org, make_user)
    user = _user(_pending(frozen_clock).id)
    assert user.organisation_id == org.id
    assert not permissions.can_book(user)
    assert str(permissions.visible_bookings(user).whereclause) == "booking.id IS NULL"
    assert not permissions.can_manage_members(user, org.id)


# -- password strength (issue 10, item 13) -------------------------------------------------


@pytest.mark.parametrize("password", ["qwerty1234", "Password1!", "q1w2e3r4t5", "1q2w3e4r5t",
                                      "Qwertyuiop", "iloveyou2026", "Summer2024!",
                                      "abcabcabcabc", "brightoptics1"])
def test_weak_or_breached_passwords_are_refused_in_plain_words(ctx, frozen_clock, password):
    refusal = _refused("password", _register, frozen_clock.now, password=password)
    assert refusal.message.startswith("This password is too easy to guess")
    assert "choose another" in refusal.message


def test_a_password_on_the_breached_list_says_so(ctx, frozen_clock):
    refusal = _refused("password", _register, frozen_clock.now, password="1q2w3e4r5t")
    assert "list of passwords leaked" in refusal.message


@pytest.mark.parametrize("password", [NEW_PASSWORD, "correct horse battery", "Tr0ub4dor&3x-9",
                                      "ß" * 3 + " lantern violet 7" + "x" * 100])
def test_strong_passwords_are_accepted(ctx, frozen_clock, password):
    _register(frozen_clock.now, password=password)
    db.session.commit()


def test_change_and_reset_refuse_a_weak_password_too(ctx, frozen_clock, make_user):
    user = make_user()
    _refused("password", accounts.change_password, _user(user.id), PASSWORD, "Password1!",
             now=frozen_clock.now)
    token = _reset_token(user.email, frozen_clock.now)
    _refused("password", accounts.reset_password, token, "qwerty1234", now=frozen_clock.now)


def test_common_password_list_ships_ten_thousand_entries():
    from labnet.data import common_passwords

    assert len(common_passwords()) >= 9000
    assert {"qwerty1234", "password1", "1q2w3e4r5t"} <= common_passwords()


def test_registering_again_before_confirming_sends_a_fresh_confirmation_link(ctx,
                                                                             frozen_clock):
    first = _register(frozen_clock.now)
    db.session.commit()
    assert _register(frozen_clock.now, new_org=_company("Another Name")) is None
    db.session.commit()
    assert [(m.kind, m.to_addr) for m in _outbox()] == [("confirm_email", first.email)] * 2
    assert _counts()["User"] == 1
