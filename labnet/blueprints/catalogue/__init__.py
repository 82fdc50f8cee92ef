from flask import Blueprint

bp = Blueprint("catalogue", __name__)

from labnet.blueprints.catalogue import routes, watch_routes  # noqa: E402, F401
