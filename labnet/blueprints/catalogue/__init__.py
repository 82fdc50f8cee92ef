from flask import Blueprint

bp = Blueprint("catalogue", __name__)

from labnet.blueprints.catalogue import routes  # noqa: E402, F401
from labnet.blueprints.catalogue import watch_routes  # noqa: E402, F401
