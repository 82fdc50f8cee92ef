"""Operating LabNet: /ready, /metrics, the request id and JSON logs."""

from flask import Blueprint

bp = Blueprint("ops", __name__)

from labnet.blueprints.ops import routes  # noqa: E402, F401
