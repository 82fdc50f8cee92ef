from flask import Blueprint

bp = Blueprint("manage", __name__)

from labnet.blueprints.manage import routes  # noqa: E402, F401
