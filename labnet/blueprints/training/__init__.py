from flask import Blueprint

bp = Blueprint("training", __name__)

from labnet.blueprints.training import routes  # noqa: E402, F401
