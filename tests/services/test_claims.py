"""The claim and team rules, called directly: which addresses prove a lab's web domain,
who receives approval claims, and the last-manager rule on every path (the team page,
the admin's revoke, the command line)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from labnet import clock
from labnet.errors import RuleViolation
from labnet.extensions import db
from labnet.models import AuditEvent, Lab, LabManager, Role, User
from labnet.services.accounts import rules as accounts
from labnet.services.catalogue.labs import claims, team


@pytest.mark.parametrize(("website", "email", "proves"), [
    ("https://www.ipt.fraunhofer.de/en.html", "a@ipt.fraunhofer.de", True),  # the host
    ("https://www.ipt.fraunhofer.de", "a@fraunhofer.de", True),  # a registrable parent
    ("https://www.ipt.fraunhofer.de", "a@lab.ipt.fraunhofer.de", True),  # a subdomain
    ("ipt.fraunhofer.de", "A@IPT.Fraunhofer.DE", True),  # no scheme, any case
    ("https://www.ipt.fraunhofer.de", "a@de", False),  # a public suffix
    ("https://www.amrc.co.uk", "a@amrc.co.uk", True),
    ("https://www.amrc.co.uk", "a@co.uk", False),  # a public suffix of two labels
    ("https://www.ait.ac.at", "a@ac.at", False),
    ("https://imif.lukasiewicz.gov.pl", "a@lukasiewicz.gov.pl", True),
    ("https://imif.lukasiewicz.gov.pl", "a@gov.pl", False),
    ("https://www.ipt.fraunhofer.de", "a@gmail.com", False),  # free mail
    ("https://mail.google.com", "a@google.com", True),  # a provider's own lab is its own
    ("https://www.gmail.com", "a@gmail.com", False),  # but free mail never counts
    ("https://www.ipt.fraunhofer.de", "a@ilt.fraunhofer.de", False),  # a sibling
    ("https://www.ipt.fraunhofer.de", "a@fraunhofer.de.evil.example", False),
    ("https://www.ipt.fraunhofer.de", "a@notfraunhofer.de", False),
    ("", "a@fraunhofer.de", False),  # no website
    ("http://10.0.0.1/", "a@0.1", False),  # an IP address names nobody
])
def test_which_addresses_prove_the_labs_web_domain(website, email, proves):
    lab = Lab(name="Lab", website=website)
    assert (claims.domain_problem(email, lab) is None) is proves


def test_the_refusal_names_the_domain_to_use(app):
    lab = Lab(name="Fraunhofer IPT", website="https://www.ipt.fraunhofer.de")
    assert "ipt.fraunhofer.de" in claims.domain_problem("a@other.example", lab)
    assert "fraunhofer.de" in claims.domain_problem("a@other.example", lab)
    no_site = Lab(name="Fraunhofer IPT", website="")
    assert "no website" in claims.domain_problem("a@fraunhofer.de", no_site)


def test_the_last_manager_is_kept_by_the_admins_revoke_and_the_command_line(
        app, runner, people):
    with app.app_context():
        now = clock.utcnow()
        admin = db.session.get(User, people.admin.id)
        manager = db.session.get(User, people.manager.id)
        lab = db.session.get(Lab, people.lab.id)
        with pytest.raises(RuleViolation) as refused:
            accounts.revoke_role(admin, manager, Role.LAB_MANAGER, lab=lab, now=now)
        assert refused.value.field == "role"
        assert "keeps at least one manager" in refused.value.message
        db.session.rollback()
    result = runner.invoke(args=["labnet", "users", "revoke", people.manager.email,
                                 "lab_manager", "--lab", people.lab.slug])
    assert result.exit_code != 0 and "keeps at least one manager" in result.output
    with app.app_context():
        assert db.session.get(LabManager, (people.lab.id, people.manager.id)) is not None


def test_a_deactivated_manager_does_not_count_and_may_be_removed(app, people, make_user):
    gone = make_user(manages=(people.lab,), is_active=False)
    with app.app_context():
        now = clock.utcnow()
        lab = db.session.get(Lab, people.lab.id)
        manager = db.session.get(User, people.manager.id)
        # The deactivated account keeps nobody's mail flowing: the active one is the last.
        with pytest.raises(RuleViolation):
            team.remove_manager(lab, manager, by=manager, now=now)
        db.session.rollback()
        assert team.remove_manager(lab, db.session.get(User, gone.id), by=manager, now=now)
        db.session.commit()


def test_the_admins_grant_of_a_first_manager_goes_through_the_one_act(app, make_lab, people):
    lab = make_lab(name="Unmanaged")
    with app.app_context():
        admin = db.session.get(User, people.admin.id)
        member = db.session.get(User, people.member.id)
        assert accounts.grant_role(admin, member, Role.LAB_MANAGER,
                                   lab=db.session.get(Lab, lab.id), now=clock.utcnow())
        db.session.commit()
        actions = list(db.session.scalars(select(AuditEvent.action).where(
            AuditEvent.subject_type == "lab", AuditEvent.subject_id == lab.id)))
        assert actions == ["lab.manager_added", "lab.first_manager"]
        assert team.is_managed(lab.id)


def test_claims_of_a_lab_in_no_network_go_to_the_admins(app, make_lab, people):
    lab = make_lab(name="Lonely Lab", website="https://lonely.example")
    with app.app_context():
        assert [u.email for u in claims.claim_receivers(lab.id)] == [people.admin.email]
