"""Meetings between consortia at an event: the Meet page with the profiles,
meeting requests and answers, each person's schedule (.ics) and the organisers' figures."""

from flask import Blueprint

bp = Blueprint("meetings", __name__)

from labnet.blueprints.meetings import routes  # noqa: E402, F401
