"""The JSON API (``/api/v1``), its reference page (``/api/docs``) and the token pages
(``/account/tokens``)."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")
tokens_bp = Blueprint("api_tokens", __name__)

from labnet.blueprints.api import routes, token_routes  # noqa: E402, F401
