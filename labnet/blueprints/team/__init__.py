from flask import Blueprint

bp = Blueprint("team", __name__)

from labnet.blueprints.team import routes  # noqa: E402, F401
