"""``/open-data``: the public catalogue as files, and its DCAT-AP description."""

from flask import Blueprint

bp = Blueprint("open_data", __name__)

from labnet.blueprints.open_data import routes  # noqa: E402, F401
