"""Value-chain networks: the public list and pages with the chain diagram and
map, the coordinators' pages (network, stages, invitations, coordinators, gap finder) and
the lab managers' invitations."""

from flask import Blueprint

bp = Blueprint("networks", __name__)

from labnet.blueprints.networks import routes  # noqa: E402, F401
