from flask import Blueprint

bp = Blueprint("lab_create", __name__)

from labnet.blueprints.lab_create import routes  # noqa: E402, F401
