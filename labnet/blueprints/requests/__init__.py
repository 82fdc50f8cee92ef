from flask import Blueprint

bp = Blueprint("requests", __name__)

from labnet.blueprints.requests import routes  # noqa: E402, F401
