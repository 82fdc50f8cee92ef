from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from labnet import clock, fragments, permissions
from labnet.blueprints.catalogue import bp, cards
from labnet.blueprints.catalogue.forms import ContactForm
from labnet.blueprints.helpers import commit_or_show, search_client
from labnet.extensions import db, limiter, login_manager
from labnet.i18n import _
from labnet.services.booking import engine as booking_engine
from labnet.services.catalogue import demand, search
from labnet.services.catalogue import pages as catalogue
from labnet.services.catalogue.labs import contact
from labnet.services.catalogue.taxonomy import local_ket_names as ket_names


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
    # The filter lists are drawn from the query and the counts alone: kept rendered per
    # (query, values, language) — a search's counts change, and so does its key.
    facet_lists = fragments.rendered(
        "catalogue/_facet_lists.html",
        (tuple(query.to_args(page=None).items()), tuple(result.facets.items())),
        query=query, facets=result.facets)
    return render_template("catalogue/labs.html", result=result, query=query, errors=errors,
                           form=request.args, facet_lists=facet_lists,
                           card_head=cards.lab_card_head)


@bp.get("/labs/<slug>")
def lab(slug: str):
    return _lab_page(permissions.lab_for(current_user, slug))


def _lab_page(found, contact_form=None, status=200):
    return render_template(
        "catalogue/lab.html", page=catalogue.get_lab_page(current_user, found),
        ket_names=ket_names(), contact_route=contact.contact_route(found),
        contact_form=contact_form or ContactForm(formdata=None),
    ), status


def _contact_key() -> str:
    # Per account (an anonymous post is sent to the login page and never counted).
    return f"lab-contact:{current_user.id if current_user.is_authenticated else ''}"


def _message_sent(response) -> bool:
    # Only a message that went out counts: a form sent back with errors sends nothing.
    return current_user.is_authenticated and response.status_code < 400


@bp.post("/labs/<slug>/contact")
@limiter.limit(lambda: current_app.config["LAB_CONTACT_LIMIT_PER_USER"], key_func=_contact_key,
               deduct_when=_message_sent)
def contact_lab(slug: str):
    """The contact form of a lab page: one message to whoever receives the lab's mail
    (services.catalogue.labs.contact), a copy to the sender."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    found = permissions.lab_for(current_user, slug)
    form = ContactForm()
    if not form.validate_on_submit():
        return _lab_page(found, form, 422)
    sent = commit_or_show(form, lambda: contact.send_contact_message(
        current_user._get_current_object(), found, form.subject.data, form.message.data,
        now=clock.utcnow()))
    if not sent:
        return _lab_page(found, form, sent.status)
    flash(_("Your message was sent to %(lab)s. Their answer will come to your e-mail "
            "address; a copy of your message is on its way to you.", lab=found.name), "success")
    return redirect(url_for("catalogue.lab", slug=found.slug, _anchor="contact"))


@bp.get("/equipment/<int:equipment_id>")
def equipment(equipment_id: int):
    item = catalogue.get_equipment_page(permissions.equipment_for(current_user, equipment_id))
    org = current_user.organisation if current_user.is_authenticated else None
    return render_template(
        "catalogue/equipment.html", item=item, ket_names=ket_names(),
        is_sme=bool(org and org.is_sme),
        my_rate_kind=booking_engine.rate_for(item, org)[0] if org else None,
    )
