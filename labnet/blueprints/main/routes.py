from urllib.parse import urlsplit

from flask import current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import refresh
from flask_login import current_user

from labnet import clock
from labnet.blueprints.main import bp
from labnet.errors import RuleViolation
from labnet.extensions import db
from labnet.i18n import COOKIE, COOKIE_MAX_AGE, _, valid_language
from labnet.security import safe_next
from labnet.services.accounts.rules import set_language
from labnet.services.catalogue import pages as catalogue
from labnet.services.catalogue.taxonomy import local_ket_names as ket_names


@bp.get("/")
def index():
    return render_template(
        "main/index.html",
        figures=catalogue.home_figures(),
        newest=catalogue.newest_labs(6),
        ket_names=ket_names(),
    )


@bp.post("/language")
def language():
    """The header's language switcher: saved on the account of a signed-in person (pages
    and e-mail), in a cookie for everybody; back to the page it was used on."""
    code = valid_language(request.form.get("switch_language"))
    back = safe_next(request.form.get("return_to")) or url_for("main.index")
    if code is None:
        flash(_("Choose one of the languages in the list."), "danger")
        return redirect(back)
    if current_user.is_authenticated:
        try:
            set_language(current_user._get_current_object(), code, now=clock.utcnow())
        except RuleViolation as exc:  # an inactive account: nothing saved
            db.session.rollback()
            flash(exc.message, "danger")
            return redirect(back)
        db.session.commit()
    response = redirect(back)
    response.set_cookie(COOKIE, code, max_age=COOKIE_MAX_AGE, samesite="Lax",
                        secure=request.is_secure, httponly=True)
    refresh()
    return response


@bp.get("/health")
def health():
    """Alive: the process answers (no database call; ``/ready`` checks what it needs)."""
    return jsonify({"status": "ok"})


@bp.get("/ping")
def ping():
    """The trivial route the benchmarks compare every page against."""
    return "ok"


def _operator() -> dict[str, object]:
    """The operator's details from the settings (config OPERATOR_*), for the legal pages."""
    config = current_app.config
    address = str(config["OPERATOR_ADDRESS"]).replace(";", "\n")
    return {
        "name": config["OPERATOR_NAME"],
        "address_lines": [line.strip() for line in address.splitlines() if line.strip()],
        "email": config["OPERATOR_EMAIL"],
        "phone": config["OPERATOR_PHONE"],
        "representative": config["OPERATOR_REPRESENTATIVE"],
        "register": config["OPERATOR_REGISTER"],
        "vat_id": config["OPERATOR_VAT_ID"],
        "privacy_email": config["PRIVACY_CONTACT_EMAIL"],
        "authority": config["PRIVACY_AUTHORITY"],
        "placeholders": config["OPERATOR_PLACEHOLDERS"],
        "terms_version": config["TERMS_VERSION"],
        "tile_host": urlsplit(config["TILE_URL"]).hostname,
    }


@bp.get("/imprint")
def imprint():
    return render_template("main/imprint.html", operator=_operator())


@bp.get("/privacy")
def privacy():
    return render_template("main/privacy.html", operator=_operator())


@bp.get("/terms")
def terms():
    return render_template("main/terms.html", operator=_operator())


@bp.get("/accessibility")
def accessibility():
    """The accessibility statement the EU Web Accessibility Directive asks for."""
    return render_template("main/accessibility.html", operator=_operator())
