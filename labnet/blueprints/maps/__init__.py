from flask import Blueprint

bp = Blueprint("maps", __name__)

from labnet.blueprints.maps import routes  # noqa: E402, F401
