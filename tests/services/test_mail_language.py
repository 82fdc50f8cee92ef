"""E-mail is written in its recipient's language (labnet.i18n), whoever caused it.

A person whose account says ``locale = "de"`` gets subject, greeting, body and the reason
in German while the person who caused the mail browses in English; an address without an
account gets English even when the sender browses in German; the daily digest is written
in its reader's language too.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from labnet.extensions import db
from labnet.i18n import _, _l, current_language, force_locale
from labnet.models import OutboxEmail, Role, User
from labnet.services.accreditation import claims
from labnet.services.notifications.outbox import deliver_committed, enqueue_email, send_digests

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NOBODY = "nobody@elsewhere.example"


@pytest.fixture
def german(app):
    """LabNet's German catalogue is compiled in: the test reads it as production does."""
    with app.test_request_context(), force_locale("de"):
        assert _("Hello,") != "Hello,", "run `make translations`"
    return


def _text(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def _html(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def test_a_german_account_gets_its_mail_in_german_while_the_sender_browses_in_english(
        smtp, app, german, make_user, make_lab):
    lab = make_lab(name="Walk Lab")
    manager = make_user(manages=(lab,), full_name="Max Manager", locale="en")
    verifier = make_user(roles=(Role.VERIFIER,), full_name="Vera Verifier", locale="de")
    item = claims.ClaimInput(scheme_code="iso-9001", certificate_no="Q-1", issuer="TÜV Walk",
                             valid_from=NOW.date(),
                             evidence_url="https://register.example/q-1")
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert current_language() == "en"
        claims.create_claim(db.session.get_one(User, manager.id),
                            db.session.get_one(type(lab), lab.id), item, now=NOW,
                            instance_path=app.instance_path, today=NOW.date())
        db.session.commit()
        deliver_committed(app.config, now=NOW)
    [message] = smtp.to(verifier.email)
    assert message["Subject"] == "Neuer Akkreditierungsantrag: Walk Lab"
    text = _text(message)
    assert text.startswith("Guten Tag Vera Verifier,")
    assert ("Walk Lab beantragt iso-9001 (Zertifikat Q-1). Prüfen Sie die Nachweise und "
            "entscheiden Sie.") in text
    assert "Antrag prüfen: http://labnet.test/" in text
    assert "Sie erhalten diese Nachricht, weil Sie auf LabNet Akkreditierungen prüfen." in text
    assert "Sofort oder als tägliche Zusammenfassung wählen" in text
    assert "LabNet — Europas Labore, Geräte und Know-how." in text
    html = _html(message)
    assert "<p>Guten Tag Vera Verifier,</p>" in html
    assert ">Antrag prüfen</a>" in html
    # Nothing of it is English.
    for english in ("Hello", "Review the claim", "You receive this", "claims iso-9001"):
        assert english not in text and english not in html


def test_an_address_without_an_account_gets_english_while_the_sender_browses_in_german(
        smtp, app, german, make_user):
    reader = make_user(full_name="Dora Deutsch", locale="de")
    with app.test_request_context(headers={"Accept-Language": "de"}):
        assert current_language() == "de"
        for address in (NOBODY, reader.email):
            enqueue_email("confirm_email", address, _l("Accreditation expired: %(lab)s",
                                                       lab="Walk Lab"),
                          {"token": "t"}, now=NOW, action_required=True,
                          why=_l("You receive this because this address is known to LabNet."))
        db.session.commit()
        deliver_committed(app.config, now=NOW)
    [english] = smtp.to(NOBODY)
    assert english["Subject"] == "Accreditation expired: Walk Lab"
    text = _text(english)
    assert text.startswith("Hello,")
    assert "Please confirm your e-mail address for LabNet by opening this link:" in text
    assert "You receive this because this address is known to LabNet." in text
    [german_mail] = smtp.to(reader.email)
    assert german_mail["Subject"] == "Akkreditierung abgelaufen: Walk Lab"
    text = _text(german_mail)
    assert text.startswith("Guten Tag Dora Deutsch,")
    assert "Bitte bestätigen Sie Ihre E-Mail-Adresse für LabNet" in text
    assert "Sie erhalten diese Nachricht, weil diese Adresse LabNet bekannt ist." in text


def test_the_daily_digest_is_written_in_its_readers_language(app, german, make_user):
    reader = make_user(full_name="Dora Deutsch", locale="de", mail_mode="digest")
    with app.test_request_context(headers={"Accept-Language": "en"}):
        for _n in range(2):
            enqueue_email("confirm_email", reader.email, _l("Hello,"), {"token": "t"},
                          now=NOW)
        db.session.commit()
        send_digests(now=NOW + timedelta(days=1))
        db.session.commit()
        digest = db.session.scalar(select(OutboxEmail).where(OutboxEmail.kind == "digest"))
    assert digest is not None
    assert digest.subject == "LabNet-Tageszusammenfassung: 2 Nachrichten"
    assert digest.body_text.startswith("Guten Tag Dora Deutsch,")
    assert ("Hier ist, was LabNet Ihnen seit Ihrer letzten Zusammenfassung gesendet hat "
            "(2 Nachrichten).") in digest.body_text
    assert ("Sie erhalten diese Zusammenfassung, weil Sie die Post von LabNet einmal täglich "
            "erhalten möchten") in digest.body_text
