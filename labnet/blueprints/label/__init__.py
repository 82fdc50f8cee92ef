from flask import Blueprint

bp = Blueprint("label", __name__)

from labnet.blueprints.label import routes  # noqa: E402, F401
