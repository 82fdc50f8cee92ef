from flask import current_app, render_template, request
from flask_login import current_user

from labnet import clock, permissions
from labnet.blueprints.catalogue import bp
from labnet.blueprints.helpers import search_client
from labnet.extensions import db
from labnet.services.booking import engine as booking_engine
from labnet.services.catalogue import demand, search
from labnet.services.catalogue import pages as catalogue
from labnet.services.catalogue.taxonomy import ket_names


@bp.get("/labs")
def labs():
    """The catalogue search. Bad parameters are named on the page and left out (200, never
    a 500). The first page of a search is recorded as a demand signal; a bare /labs
    (browsing, no criterion) and further pages of the same search are not, or paging
    through results would count one need many times."""
    query, errors = search.parse_query(request.args)
    now = clock.utcnow()
    result = search.search_labs(
        current_user, query, now=now, per_page=current_app.config["LABS_PER_PAGE"],
        facet_cache=current_app.extensions.setdefault("labnet.facets", {}),
        facet_cache_seconds=float(current_app.config["FACET_CACHE_SECONDS"]),
    )
    if query.is_search and query.page == 1:
        org = current_user.organisation if current_user.is_authenticated else None
        demand.record_demand_signal(query, result.total, source="labs", now=now,
                                    searcher_country=org.country if org else None,
                                    client=search_client())
        db.session.commit()
    return render_template("catalogue/labs.html", result=result, query=query, errors=errors,
                           form=request.args)


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
        my_rate_kind=booking_engine.rate_for(item, org)[0] if org else None,
    )
