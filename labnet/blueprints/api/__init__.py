"""The JSON API (``/api/v1``), its reference page (``/api/docs``) and the token pages
(``/account/tokens``)."""

from flask import Blueprint, request

from labnet.extensions import csrf, limiter

bp = Blueprint("api", __name__, url_prefix="/api")
tokens_bp = Blueprint("api_tokens", __name__)

from labnet.blueprints.api import framework, routes, token_routes  # noqa: E402, F401

# The API reads bearer tokens only, never the session cookie, so a bearer request needs no
# CSRF token; a write without one is checked like any form post (400 without the token,
# then 401 for want of a bearer token), so a cookie alone never gets further.
csrf.exempt(bp)


@bp.before_request
def _csrf_unless_bearer() -> None:
    if request.method not in ("GET", "HEAD", "OPTIONS") and not request.headers.get(
            "Authorization"):
        csrf.protect()


# Per-token limits (per client address without a token), shared through the limiter's store.
limiter.limit(framework.rate_limit, key_func=framework.rate_key)(bp)
bp.register_error_handler(429, framework.too_many)
bp.after_request(framework.cors_headers)
framework.BY_ENDPOINT.update({op.endpoint: op for op in framework.OPERATIONS})
