"""Links that leave the site: e-mails, calendar-feed URLs, exported map files.

They are built from the configured ``BASE_URL`` and never from the request: with
``url_for(..., _external=True)`` a forged ``Host`` header decides where a password-reset link
points. The same builder works in a request, in a job and in the CLI, so the
scheduler needs no ``SERVER_NAME`` and no fake request either.

Links that carry a secret (a reset, confirmation or cancel token) are built with
:func:`secret_url` inside e-mail templates: the outbox renders each message once with the
working link (what is sent) and once with :data:`REDACTED` in its place (what is kept and
shown after sending, services.notifications.outbox).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from jinja2 import pass_context
from jinja2.runtime import Context

REDACTED = "[link removed after sending]"

# Template context keys set by services.notifications.outbox.enqueue_email while rendering.
REDACT_KEY = "_redact_secrets"
SEEN_KEY = "_secrets_seen"


def external_url(endpoint: str, /, **values: Any) -> str:
    """The absolute URL of ``endpoint`` under the configured ``BASE_URL``.

    ``_anchor`` adds a fragment, like ``url_for``. Raises ``werkzeug.routing.BuildError``
    for an unknown endpoint or missing values.
    """
    app = current_app
    base = urlsplit(app.config["BASE_URL"])
    anchor = values.pop("_anchor", None)
    app.inject_url_defaults(endpoint, values)
    # A routing adapter bound to the configured origin (and its path, for a deployment under
    # a prefix), not to the request's environment.
    adapter = app.url_map.bind(base.netloc, script_name=base.path or "/",
                               url_scheme=base.scheme)
    url = adapter.build(endpoint, values, force_external=True)
    return f"{url}#{anchor}" if anchor else url


@pass_context
def secret_url(context: Context, endpoint: str, /, **values: Any) -> str:
    """In an e-mail template: a link that carries a secret. Rendered as the working link
    for the message that is sent, as :data:`REDACTED` for the copy the outbox keeps."""
    return secret_text(context, external_url(endpoint, **values))


@pass_context
def secret_text(context: Context, value: str, redacted: str = REDACTED) -> str:
    """In an e-mail template: ``value`` in the message that is sent, ``redacted`` in the
    copy the outbox keeps (the digest passes a bundled message's own redacted body)."""
    if value == redacted:
        return value
    if context.get(REDACT_KEY):
        return redacted
    seen = context.get(SEEN_KEY)
    if seen is not None:
        seen.append(value)
    return value
