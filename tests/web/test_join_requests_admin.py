"""Join requests always reach someone (issue 12 §1): a request to an organisation without
organisation admins goes to the platform admins' queue, with the same approve and decline;
undecided requests remind their approvers after 3 days and expire after 14, the requester
told (the ``join-requests`` job, also run once from the command line)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from labnet.extensions import db
from labnet.models import AuditEvent, OutboxEmail, Role, User
from labnet.services.accounts.joins import remind_and_expire_join_requests
from tests.fixtures.auth import login_as, post_form
from tests.web.test_auth import NEW_PASSWORD, link_in
from tests.web.test_organisation_members import ask_to_join

ASKER = "ann@closed-centre.example"


def _user(app, email: str) -> User | None:
    with app.app_context():
        return db.session.scalar(select(User).where(User.email == email))


def _asked(smtp, client, make_org, make_user):
    """Closed Centre has members but no organisation admin; Ann asks to join and confirms."""
    org = make_org(name="Closed Centre", kind="rto", size_class=None, email_domain=None)
    make_user(organisation=org)  # a plain member: not asked
    admin = make_user(roles=(Role.ADMIN,), full_name="Ada Admin")
    response = ask_to_join(client, ASKER, "Closed Centre")
    assert response.status_code == 200
    client.get(link_in(smtp.text(smtp.to(ASKER)[-1])))
    return org, admin


def test_a_request_to_an_organisation_without_admins_is_decided_by_a_platform_admin(
        smtp, app, client, make_org, make_user):
    _org, admin = _asked(smtp, client, make_org, make_user)
    [asked] = smtp.to(admin.email)
    assert "asks to join Closed Centre" in asked["Subject"]
    assert "http://labnet.test/admin/join-requests" in smtp.text(asked)
    ann = _user(app, ASKER)
    assert ann.membership == "pending"
    waiting = post_form(app.test_client(), "/login", {"email": ASKER, "password": NEW_PASSWORD})
    assert "waiting for approval by the LabNet admins" in waiting.get_data(as_text=True)

    desk = app.test_client()
    login_as(desk, admin)
    queue = desk.get("/admin/join-requests").get_data(as_text=True)
    assert ASKER in queue and "Closed Centre" in queue
    done = post_form(desk, f"/admin/join-requests/{ann.id}/approve", {},
                     page="/admin/join-requests", follow_redirects=True)
    assert "is now a member of Closed Centre" in done.get_data(as_text=True)
    assert ASKER not in done.get_data(as_text=True).split('id="join-requests"')[-1]
    assert "approved" in smtp.text(smtp.to(ASKER)[-1])
    login_as(client, ann, NEW_PASSWORD)
    assert "Closed Centre" in client.get("/account").get_data(as_text=True)


def test_a_platform_admin_declines_and_the_requester_is_told_by_whom(
        smtp, app, client, make_org, make_user):
    _org, admin = _asked(smtp, client, make_org, make_user)
    desk = app.test_client()
    login_as(desk, admin)
    ann = _user(app, ASKER)
    post_form(desk, f"/admin/join-requests/{ann.id}/decline", {}, page="/admin/join-requests")
    assert _user(app, ASKER) is None
    assert "declined by a LabNet admin" in smtp.text(smtp.to(ASKER)[-1])


def test_the_admin_queue_holds_only_requests_no_organisation_admin_decides(
        smtp, app, client, make_org, make_user):
    org = make_org(name="Run Centre", kind="rto", size_class=None, email_domain=None)
    make_user(organisation=org, org_role="admin")
    admin = make_user(roles=(Role.ADMIN,))
    ask_to_join(client, "bob@run.example", "Run Centre")
    client.get(link_in(smtp.text(smtp.to("bob@run.example")[-1])))
    assert smtp.to(admin.email) == []
    desk = app.test_client()
    login_as(desk, admin)
    assert "bob@run.example" not in desk.get("/admin/join-requests").get_data(as_text=True)
    # Someone who is no pending request is nothing the queue can approve.
    member = make_user(organisation=org)
    refused = post_form(desk, f"/admin/join-requests/{member.id}/approve", {},
                        page="/admin/join-requests")
    assert refused.status_code == 404


def _kinds(app) -> list[tuple[str, str]]:
    with app.app_context():
        return [(m.kind, m.to_addr) for m in db.session.scalars(
            select(OutboxEmail).where(OutboxEmail.kind.in_(("join_reminder", "join_expired")))
            .order_by(OutboxEmail.id))]


def test_undecided_requests_remind_after_three_days_once_and_expire_after_fourteen(
        smtp, app, client, runner, frozen_clock, make_org, make_user):
    _org, admin = _asked(smtp, client, make_org, make_user)
    start = frozen_clock.now
    with app.app_context():
        assert remind_and_expire_join_requests(now=start + timedelta(days=2, hours=23)) == {
            "reminded": 0, "expired": 0}
        db.session.commit()
    frozen_clock.move_to(start + timedelta(days=3))
    result = runner.invoke(args=["labnet", "jobs", "run", "join-requests"])
    assert result.exit_code == 0, result.output
    assert "reminded 1" in result.output
    assert _kinds(app) == [("join_reminder", admin.email)]
    [reminder] = [m for m in smtp.to(admin.email) if m["Subject"].startswith("Reminder")]
    body = smtp.text(reminder)
    assert "asked 3 days ago" in body and "2026-03-16" in body
    assert "http://labnet.test/admin/join-requests" in body
    # Idempotent: a second run the same day (or any later day) reminds nobody again.
    frozen_clock.move_to(start + timedelta(days=5))
    again = runner.invoke(args=["labnet", "jobs", "run", "join-requests"])
    assert "nothing to do" in again.output or "reminded 0" in again.output
    assert len(_kinds(app)) == 1

    frozen_clock.move_to(start + timedelta(days=14))
    runner.invoke(args=["labnet", "jobs", "run", "join-requests"])
    assert _user(app, ASKER) is None
    assert _kinds(app)[-1] == ("join_expired", ASKER)
    assert "not decided within 14 days" in smtp.text(smtp.to(ASKER)[-1])
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "organisation.join_expired")) == 1
        assert remind_and_expire_join_requests(now=start + timedelta(days=20)) == {
            "reminded": 0, "expired": 0}


def test_the_reminder_goes_to_organisation_admins_when_the_organisation_has_some(
        smtp, app, client, frozen_clock, make_org, make_user):
    org, _admin = _asked(smtp, client, make_org, make_user)
    boss = make_user(organisation=org, org_role="admin")  # appointed meanwhile
    with app.app_context():
        remind_and_expire_join_requests(now=frozen_clock.now + timedelta(days=3))
        db.session.commit()
    assert _kinds(app) == [("join_reminder", boss.email)]
