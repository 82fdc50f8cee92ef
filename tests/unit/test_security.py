"""labnet.security and the password rule: safe redirects, Argon2id hashing, signed tokens,
session tokens, and the secret key generated into the instance folder."""

from __future__ import annotations

import hashlib
import os
import stat
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from flask import Flask

from labnet import create_app, security
from labnet.config import DEFAULTS
from labnet.errors import RuleViolation
from labnet.services.accounts.rules import COMMON_PASSWORDS, check_password_strength

# -- safe_next ------------------------------------------------------------------------------

# RELIABILITY §4.2: every one of these left the site (or gave a 500) with a naive redirect.
OFF_SITE = [
    "/\\evil.example",
    "/\tevil.example",
    "/\t/evil.example",  # what /%09/evil.example decodes to; Werkzeug strips the tab
    "//evil.example",
    "///evil.example",
    "https:evil.example",
    "https://evil.example",
    "http://labnet.test/labs",  # absolute URLs are refused even for our own host
    "/\n/x",  # what /%0A/x decodes to: a header injection, a 500 if passed on
    "/\r\nSet-Cookie:x=1",
    "\\\\evil.example",
    "\\/evil.example",
    " /labs",
    "/labs ",
    "/lab s",
    "/\x00labs",
    "/\x7flabs",
    "javascript:alert(1)",
    "evil.example",
    "labs",
]

NOT_A_PAGE = [
    "",
    None,
    "/no-such-page",
    "/%2F%2Fevil.example",  # a double-encoded slash is not a route of ours
    "/account/logout-everywhere",  # POST only: not a page to land on
    "/labs/",  # no such route (strict slashes)
    "/" + "a" * 600,  # over-long
]

ON_SITE = [
    "/",
    "/labs",
    "/labs?page=2",
    "/labs?q=laser&page=3",
    "/labs/fraunhofer-ilt",
    "/equipment/12",
    "/account",
    "/admin/outbox",
    "/labs#map",
]


@pytest.mark.parametrize("target", OFF_SITE)
def test_safe_next_refuses_a_target_that_could_leave_the_site(ctx, target):
    assert security.safe_next(target) is None


@pytest.mark.parametrize("target", NOT_A_PAGE)
def test_safe_next_refuses_what_is_not_a_get_page_of_this_app(ctx, target):
    assert security.safe_next(target) is None


@pytest.mark.parametrize("target", ON_SITE)
def test_safe_next_keeps_a_page_of_this_app_with_its_query(ctx, target):
    assert security.safe_next(target) == target


# -- the password rule ---------------------------------------------------------------------


def _refusal(password: str, email: str = "") -> RuleViolation:
    with pytest.raises(RuleViolation) as info:
        check_password_strength(password, email)
    assert info.value.field == "password"
    return info.value


@pytest.mark.parametrize("password", ["", "a", "Tr0ub4dor", "9-chars!!"])
def test_password_shorter_than_ten_characters_is_refused(password):
    assert _refusal(password).message == "Use at least 10 characters."


def test_password_of_exactly_ten_characters_is_accepted():
    check_password_strength("tr0ub4d0r&")


def test_password_of_128_characters_is_accepted_and_129_refused():
    strong = ("Vq7#mZ2p!x" * 13)[:128]
    check_password_strength(strong)
    assert _refusal(strong + "e").message == "Use at most 128 characters."


@pytest.mark.parametrize("password", sorted(p for p in COMMON_PASSWORDS if len(p) >= 10))
def test_common_password_is_refused(password):
    assert _refusal(password).message == (
        "This password is too easy to guess: it is on the list of passwords leaked most "
        "often in data breaches, which attackers try first; choose another.")


@pytest.mark.parametrize("password", ["Password123", "QWERTYUIOP", "LetMeIn123"])
def test_common_password_is_refused_whatever_the_capitals(password):
    assert "too easy to guess" in _refusal(password).message


@pytest.mark.parametrize("password", ["aaaaaaaaaaaa", "abababababab", "abcabcabcabc", "!!!!!!!!!!"])
def test_password_of_fewer_than_four_distinct_characters_is_refused(password):
    assert "too easy to guess" in _refusal(password).message


def test_password_of_four_distinct_characters_passes_that_rule_and_meets_the_estimate():
    # Four distinct characters are enough for the repetition rule; zxcvbn then judges the
    # pattern (issue 10, item 13: strength is estimated, not counted).
    message = _refusal("abcdabcdab").message
    assert "too few different characters" not in message
    assert message.startswith("This password is too easy to guess (")
    check_password_strength("abcd lantern 7")


@pytest.mark.parametrize("password", ["annabelle-2026!", "My ANNABELLE rocks", "xxannabellexx"])
def test_password_containing_the_address_is_refused(password):
    refusal = _refusal(password, "Annabelle@Example.org")
    assert refusal.message == "The password must not contain your e-mail address."


def test_short_local_part_is_not_held_against_the_password():
    # "bob" is too short to be a meaningful match; a passphrase with "bob" in it is fine.
    check_password_strength("bobcat-lantern-42", "bob@example.org")


@pytest.mark.parametrize(
    "password", ["correct horse battery", "Grüße aus Köln!", "9 vélos à Lyon", "ščť-žýá-1234"]
)
def test_passphrases_and_non_ascii_passwords_are_accepted(password):
    check_password_strength(password, "someone@example.org")


# -- Argon2id hashing ------------------------------------------------------------------------


def test_password_hash_is_argon2id_and_verifies(ctx):
    hashed = security.hash_password("correct horse battery")
    assert hashed.startswith("$argon2id$")
    assert "correct horse battery" not in hashed
    assert security.verify_password(hashed, "correct horse battery")
    assert not security.verify_password(hashed, "correct horse batterY")


def test_two_hashes_of_one_password_differ(ctx):
    # A random salt per hash: equal passwords do not give equal rows.
    assert security.hash_password("same password 1") != security.hash_password("same password 1")


@pytest.mark.parametrize("stored", ["", "plain text", "$2b$12$notargon", "$argon2id$v=19$broken"])
def test_verifying_against_a_malformed_hash_is_false_not_an_error(ctx, stored):
    assert security.verify_password(stored, "anything at all") is False
    assert security.needs_rehash(stored) is True


def test_default_argon2_parameters_are_owasps_minimum():
    # The shipped defaults, not the cheap test ones: m=19 MiB, t=2, p=1 (RELIABILITY §4.3.6).
    bare = Flask("argon2-defaults")
    bare.config.update(DEFAULTS)
    with bare.app_context():
        hashed = security.hash_password("correct horse battery")
    assert hashed.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_hash_made_with_other_parameters_needs_rehash(ctx):
    old = PasswordHasher(time_cost=3, memory_cost=16, parallelism=1).hash("correct horse battery")
    assert security.verify_password(old, "correct horse battery")
    assert security.needs_rehash(old)
    assert not security.needs_rehash(security.hash_password("correct horse battery"))


# -- signed e-mail tokens --------------------------------------------------------------------


def test_token_reads_back_within_its_age(ctx, frozen_clock):
    token = security.make_token("salt-a", {"u": 7})
    assert security.read_token("salt-a", token, 3600, now=frozen_clock.now) == {"u": 7}
    later = frozen_clock.now + timedelta(seconds=3600)
    assert security.read_token("salt-a", token, 3600, now=later) == {"u": 7}


def test_token_expires_one_second_after_its_max_age(ctx, frozen_clock):
    token = security.make_token("salt-a", {"u": 7})
    later = frozen_clock.now + timedelta(seconds=3601)
    assert security.read_token("salt-a", token, 3600, now=later) is None


def test_token_is_stamped_with_labnets_clock(ctx, frozen_clock):
    # Signed at the frozen instant: a year of real time later it still counts from then.
    frozen_clock.move_to(datetime(2031, 5, 1, 12, 0, tzinfo=UTC))
    token = security.make_token("salt-a", {"u": 7})
    assert security.read_token("salt-a", token, 60, now=frozen_clock.now) == {"u": 7}
    assert security.read_token(
        "salt-a", token, 60, now=frozen_clock.now + timedelta(seconds=61)
    ) is None


def test_token_from_the_future_is_refused(ctx, frozen_clock):
    token = security.make_token("salt-a", {"u": 7})
    earlier = frozen_clock.now - timedelta(hours=1)
    assert security.read_token("salt-a", token, 3600, now=earlier) is None


@pytest.mark.parametrize("mangle", [
    lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),
    lambda t: "x" + t,
    lambda t: "",
    lambda t: "not.a.token",
])
def test_tampered_token_is_refused(ctx, frozen_clock, mangle):
    token = security.make_token("salt-a", {"u": 7})
    assert security.read_token("salt-a", mangle(token), 3600, now=frozen_clock.now) is None


def test_token_for_one_purpose_does_not_work_for_another(ctx, frozen_clock):
    token = security.make_token("labnet.confirm-email", {"u": 7})
    assert security.read_token("labnet.reset-password", token, 3600, now=frozen_clock.now) is None


def test_token_signed_with_another_secret_key_is_refused(app, frozen_clock):
    with app.app_context():
        token = security.make_token("salt-a", {"u": 7})
    app.config["SECRET_KEY"] = "another-secret"
    with app.app_context():
        assert security.read_token("salt-a", token, 3600, now=frozen_clock.now) is None


def test_token_whose_payload_is_not_a_mapping_is_refused(ctx, frozen_clock):
    token = security.make_token("salt-a", ["u", 7])  # type: ignore[arg-type]
    assert security.read_token("salt-a", token, 3600, now=frozen_clock.now) is None


# -- session tokens --------------------------------------------------------------------------


def test_session_token_is_random_and_stored_only_as_its_sha256():
    token, digest = security.new_session_token()
    other, _ = security.new_session_token()
    assert token != other
    assert len(token) >= 40
    assert digest == hashlib.sha256(token.encode()).hexdigest() == security.token_hash(token)
    assert token not in digest


# -- the secret key --------------------------------------------------------------------------


def _bare_config(**extra):
    # No SECRET_KEY: the override wins over any LABNET_SECRET_KEY of the environment.
    return {"ENV_NAME": "development", "SECRET_KEY": None, "RATELIMIT_ENABLED": False,
            "DATABASE_URL": "sqlite://", **extra}


def test_secret_key_is_generated_into_the_instance_folder_on_first_run(tmp_path, monkeypatch):
    monkeypatch.delenv("LABNET_SECRET_KEY", raising=False)
    instance = tmp_path / "instance"
    app = create_app(_bare_config(), instance_path=str(instance))
    key_file = instance / "secret_key"
    assert key_file.exists()
    key = app.config["SECRET_KEY"]
    assert key == key_file.read_text().strip()
    assert len(key) == 64 and int(key, 16) >= 0  # 32 random bytes, hex
    # Readable by the owner only.
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600


def test_secret_key_is_kept_across_restarts_and_differs_between_installations(
    tmp_path, monkeypatch
):
    monkeypatch.delenv("LABNET_SECRET_KEY", raising=False)
    first = create_app(_bare_config(), instance_path=str(tmp_path / "a"))
    again = create_app(_bare_config(), instance_path=str(tmp_path / "a"))
    other = create_app(_bare_config(), instance_path=str(tmp_path / "b"))
    assert first.config["SECRET_KEY"] == again.config["SECRET_KEY"]
    assert first.config["SECRET_KEY"] != other.config["SECRET_KEY"]


def test_configured_secret_key_is_used_and_nothing_is_written(tmp_path):
    app = create_app(_bare_config(SECRET_KEY="configured-key"),
                     instance_path=str(tmp_path / "instance"))
    assert app.config["SECRET_KEY"] == "configured-key"
    assert not (tmp_path / "instance" / "secret_key").exists()


def test_production_without_secret_key_fails_loudly(tmp_path, monkeypatch):
    monkeypatch.delenv("LABNET_SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY is not set"):
        create_app(_bare_config(ENV_NAME="production"), instance_path=str(tmp_path / "i"))
    assert not (tmp_path / "i" / "secret_key").exists()


# Production refuses to start without these too (tests/web/test_mail_security.py).
PRODUCTION_REQUIRED = {"BASE_URL": "https://labnet.example.org", "MAIL_SERVER": "smtp.example.org",
                       "OPERATOR_NAME": "Agency", "OPERATOR_ADDRESS": "Street 1, Town",
                       "OPERATOR_EMAIL": "office@agency.test", "ALLOW_NO_REDIS": True}


def test_production_forces_secure_host_prefixed_cookies(tmp_path):
    app = create_app(
        _bare_config(ENV_NAME="production", SECRET_KEY="k" * 64, SESSION_COOKIE_SECURE=False,
                     **PRODUCTION_REQUIRED),
        instance_path=str(tmp_path / "instance"),
    )
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["SESSION_COOKIE_NAME"] == "__Host-session"


def test_production_refuses_debug(tmp_path):
    with pytest.raises(RuntimeError, match="DEBUG"):
        create_app(_bare_config(ENV_NAME="production", SECRET_KEY="k" * 64, DEBUG=True,
                                **PRODUCTION_REQUIRED),
                   instance_path=str(tmp_path / "instance"))
