""""Tell me when": a logged-in person asks to hear when an unmanaged lab gets its first
manager, or withdraws the wish (services.catalogue.labs.watch)."""

from flask import flash, redirect, request, url_for
from flask_login import current_user, login_required

from labnet import clock, permissions
from labnet.blueprints.catalogue import bp
from labnet.errors import RuleViolation
from labnet.extensions import db
from labnet.i18n import _
from labnet.security import safe_next
from labnet.services.catalogue.labs import watch


def _back(slug: str):
    return redirect(safe_next(request.form.get("next")) or url_for("catalogue.lab", slug=slug))


@bp.post("/labs/<slug>/watch")
@login_required
def watch_lab(slug: str):
    lab = permissions.lab_for(current_user, slug)
    try:
        added = watch.watch_lab(current_user._get_current_object(), lab, now=clock.utcnow())
    except RuleViolation as exc:
        db.session.rollback()
        flash(str(exc.message), "warning")
        return _back(slug)
    db.session.commit()
    flash(_("We will send you one e-mail when %(lab)s opens for bookings.", lab=lab.name)
          if added else _("You are already waiting for %(lab)s.", lab=lab.name), "success")
    return _back(slug)


@bp.post("/labs/<slug>/unwatch")
@login_required
def unwatch_lab(slug: str):
    lab = permissions.lab_for(current_user, slug)
    watch.unwatch_lab(current_user._get_current_object(), lab.id, now=clock.utcnow())
    db.session.commit()
    flash(_("You will not be told about %(lab)s.", lab=lab.name), "info")
    return _back(slug)
