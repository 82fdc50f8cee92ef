"""Admins grant and remove roles and read the outbox; nobody else can."""

from __future__ import annotations

from sqlalchemy import select

from labnet.extensions import db
from labnet.models import AuditEvent, LabManager, UserRole
from tests.fixtures.auth import post_form


def _roles(app, user_id):
    with app.app_context():
        roles = set(db.session.scalars(select(UserRole.role).where(UserRole.user_id == user_id)))
        labs = set(db.session.scalars(select(LabManager.lab_id)
                                      .where(LabManager.user_id == user_id)))
        return roles, labs


def test_admin_makes_someone_lab_manager_then_removes_it(app, client, people, login):
    login(people.admin)
    page = f"/admin/users/{people.outsider.id}"
    response = post_form(client, f"{page}/roles", {"role": "lab_manager", "lab": people.lab.slug},
                         page=page)
    assert response.status_code == 302
    assert _roles(app, people.outsider.id) == (set(), {people.lab.id})
    html = client.get(page).get_data(as_text=True)
    assert "lab manager of" in html and people.lab.name in html
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "role.granted"))
        assert event.actor_id == people.admin.id and event.subject_id == people.outsider.id
    response = post_form(client, f"{page}/roles/revoke",
                         {"role": "lab_manager", "lab": people.lab.slug}, page=page)
    assert response.status_code == 302
    assert _roles(app, people.outsider.id) == (set(), set())


def test_the_new_manager_can_then_see_the_draft_of_that_lab(app, client, people, login):
    login(people.admin)
    page = f"/admin/users/{people.outsider.id}"
    post_form(client, f"{page}/roles", {"role": "lab_manager", "lab": people.draft.slug},
              page=page)
    client.post("/logout", data={"csrf_token": _meta_token(client)})
    assert client.get(f"/labs/{people.draft.slug}").status_code == 404
    login(people.outsider)
    assert client.get(f"/labs/{people.draft.slug}").status_code == 200


def _meta_token(client):
    import re

    html = client.get("/labs").get_data(as_text=True)
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)


def test_admin_grants_coordinator_verifier_and_admin(app, client, people, login):
    login(people.admin)
    page = f"/admin/users/{people.member.id}"
    post_form(client, f"{page}/roles", {"role": "coordinator"}, page=page)
    post_form(client, f"{page}/roles", {"role": "verifier"}, page=page)
    post_form(client, f"{page}/roles", {"role": "admin"}, page=page)
    assert _roles(app, people.member.id)[0] == {"coordinator", "verifier", "admin"}
    post_form(client, f"{page}/roles/revoke", {"role": "verifier"}, page=page)
    assert _roles(app, people.member.id)[0] == {"coordinator", "admin"}
    # Granting again changes nothing and says so.
    response = post_form(client, f"{page}/roles", {"role": "admin"}, page=page,
                         follow_redirects=True)
    assert "already had that role" in response.get_data(as_text=True)


def test_lab_manager_role_without_a_lab_or_with_an_unknown_lab_is_refused_on_the_lab_field(
        app, client, people, login):
    login(people.admin)
    page = f"/admin/users/{people.member.id}"
    response = post_form(client, f"{page}/roles", {"role": "lab_manager"}, page=page)
    assert response.status_code == 422
    assert "Choose the lab" in response.get_data(as_text=True)
    response = post_form(client, f"{page}/roles", {"role": "lab_manager", "lab": "nope-lab"},
                         page=page)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "There is no lab “nope-lab”" in html and 'value="nope-lab"' in html
    assert _roles(app, people.member.id) == (set(), set())


def test_unknown_role_is_refused(app, client, people, login):
    login(people.admin)
    page = f"/admin/users/{people.member.id}"
    response = post_form(client, f"{page}/roles", {"role": "emperor"}, page=page)
    assert response.status_code == 422
    assert _roles(app, people.member.id) == (set(), set())


def test_the_last_admin_cannot_be_removed(app, client, people, login):
    login(people.admin)
    page = f"/admin/users/{people.admin.id}"
    response = post_form(client, f"{page}/roles/revoke", {"role": "admin"}, page=page,
                         follow_redirects=True)
    assert "last admin" in response.get_data(as_text=True)
    assert "admin" in _roles(app, people.admin.id)[0]


def test_user_list_filters_by_organisation(client, people, login):
    login(people.admin)
    html = client.get("/admin/users?q=small co").get_data(as_text=True)
    assert people.member.email in html and people.outsider.email not in html


def test_role_change_takes_effect_on_the_next_request(app, client, people, login):
    login(people.coordinator)
    assert client.get("/admin/users").status_code == 403
    with app.app_context():
        from labnet import clock
        from labnet.models import User
        from labnet.services.accounts import rules as accounts

        accounts.grant_role(None, db.session.get(User, people.coordinator.id), "admin",
                            now=clock.utcnow())
        db.session.commit()
    assert client.get("/admin/users").status_code == 200
