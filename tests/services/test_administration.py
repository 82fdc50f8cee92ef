"""The administration rules called directly: who counts as a lab's last manager, mail to a
deactivated account, and the refusals that name no form field."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from labnet.errors import PermissionDenied, RuleViolation
from labnet.extensions import db
from labnet.models import OutboxEmail, Role, User
from labnet.services.accounts import administration
from labnet.services.catalogue.labs import team
from labnet.services.notifications.outbox import enqueue_email


def _fresh(user: User) -> User:
    return db.session.get(User, user.id)


def test_last_manager_labs_counts_only_other_active_managers(ctx, make_user, make_lab):
    shared, alone, other = (make_lab(name=n) for n in ("B shared", "A alone", "C other"))
    person = make_user(manages=(shared, alone))
    make_user(manages=(shared,))
    make_user(manages=(alone,), is_active=False)  # deactivated: hands nothing over
    make_user(manages=(other,))
    assert [lab.name for lab in team.last_manager_labs(person.id)] == ["A alone"]
    assert team.last_manager_labs(make_user().id) == []


def test_mail_to_a_deactivated_account_is_not_queued(ctx, frozen_clock, make_user):
    gone = make_user(is_active=False)
    user = _fresh(gone)
    assert enqueue_email("confirm_email", gone.email.upper(), "Hello",
                         {"user": user, "token": "t"}, now=frozen_clock.now) is None
    row = enqueue_email("confirm_email", "someone@example.org", "Hello",
                        {"user": user, "token": "t"}, now=frozen_clock.now,
                        reply_to="asker@example.org\r\nBcc: x@example.org")
    assert row is not None and row.reply_to == "asker@example.org Bcc: x@example.org"
    assert db.session.scalar(select(func.count()).select_from(OutboxEmail)) == 1


def test_only_admins_administer(ctx, frozen_clock, make_user):
    member, other = make_user(), make_user()
    with pytest.raises(PermissionDenied):
        administration.set_active(_fresh(member), _fresh(other), False, now=frozen_clock.now)
    assert _fresh(other).is_active


def test_an_admin_deactivates_another_but_never_themselves(ctx, frozen_clock, make_user):
    first, second = make_user(roles=(Role.ADMIN,)), make_user(roles=(Role.ADMIN,))
    assert administration.set_active(_fresh(first), _fresh(second), False, now=frozen_clock.now)
    db.session.commit()
    assert not administration.set_active(_fresh(first), _fresh(second), False,
                                         now=frozen_clock.now)  # nothing changed
    with pytest.raises(RuleViolation, match="your own account"):
        administration.set_active(_fresh(first), _fresh(first), False, now=frozen_clock.now)
