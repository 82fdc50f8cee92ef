from flask import Blueprint

bp = Blueprint("accreditations", __name__)

from labnet.blueprints.accreditations import routes  # noqa: E402, F401
