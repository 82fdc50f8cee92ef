from flask import current_app, render_template, request
from flask_login import current_user

from labnet import permissions
from labnet.blueprints.catalogue import bp
from labnet.extensions import db
from labnet.services import catalogue
from labnet.services.taxonomy import ket_names


@bp.get("/labs")
def labs():
    q = request.args.get("q", "")[:200]
    page = db.paginate(
        catalogue.list_labs(current_user, q),
        per_page=current_app.config["LABS_PER_PAGE"],
        max_per_page=100,
        error_out=False,
    )
    return render_template("catalogue/labs.html", page=page, q=q, ket_names=ket_names())


@bp.get("/labs/<slug>")
def lab(slug: str):
    found = permissions.lab_for(current_user, slug)
    return render_template(
        "catalogue/lab.html", page=catalogue.get_lab_page(current_user, found),
        ket_names=ket_names(),
    )


@bp.get("/equipment/<int:equipment_id>")
def equipment(equipment_id: int):
    item = catalogue.get_equipment_page(permissions.equipment_for(current_user, equipment_id))
    org = current_user.organisation if current_user.is_authenticated else None
    return render_template(
        "catalogue/equipment.html", item=item, ket_names=ket_names(),
        is_sme=bool(org and org.is_sme),
    )
