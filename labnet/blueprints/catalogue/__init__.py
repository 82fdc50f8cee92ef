from flask import Blueprint

bp = Blueprint("catalogue", __name__)

from labnet.blueprints.catalogue import routes  # noqa: E402, F401
