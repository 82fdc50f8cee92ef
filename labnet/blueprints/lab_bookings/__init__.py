"""The lab manager's side of bookings: the queue of pending requests, decisions,
shortening, no-shows, blackouts and a week calendar per lab; plus each person's e-mail
preference (``mail_settings``, an absolute URL under /account)."""

from flask import Blueprint

bp = Blueprint("lab_bookings", __name__)
mail_bp = Blueprint("mail_settings", __name__)

from labnet.blueprints.lab_bookings import routes  # noqa: E402, F401
