from flask import Blueprint

bp = Blueprint("auth", __name__)

from labnet.blueprints.auth import data, routes  # noqa: E402, F401
