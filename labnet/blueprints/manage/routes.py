"""Lab-manager pages: the labs I manage, a lab's profile and policy, opening hours,
equipment (add, edit, retire), and equipment import and export as CSV.

Every route loads its lab or equipment through ``permissions.managed_*_for`` (404 for what
the user may not know exists, 403 for a public lab they do not manage), calls one service
in ``services.catalogue.labs`` and commits once.
"""

from __future__ import annotations

from dataclasses import asdict
from itertools import zip_longest
from typing import Any

from babel.dates import get_day_names
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from labnet import clock, permissions
from labnet.blueprints.helpers import choices, commit_or_show, country_choices, csv_download
from labnet.blueprints.manage import bp
from labnet.blueprints.manage.forms import (
    HOURS_SLOTS,
    SPEC_ROWS_BLANK,
    EquipmentForm,
    ImportForm,
    LabProfileForm,
    RetireForm,
    hours_form_class,
)
from labnet.extensions import db, login_manager
from labnet.i18n import _, current_language, data_name, locale_object
from labnet.models import Equipment, Lab
from labnet.models.lab import WEEKDAYS
from labnet.services.catalogue import labs
from labnet.services.catalogue import pages as catalogue
from labnet.services.catalogue.taxonomy import category_groups, ket_names, ket_tree, lab_kind_names
from labnet.templating import country_name


@bp.before_request
def _logged_in():
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


def _status(form: Any) -> int:
    return 422 if form.errors else 200


# --- the labs I manage -------------------------------------------------------------------


@bp.get("")
def index():
    managed = db.session.scalars(permissions.managed_labs(current_user)).all()
    return render_template("manage/index.html", labs=managed)


# --- lab profile -------------------------------------------------------------------------


def _lab_choices(form: LabProfileForm, lab: Lab) -> None:
    form.kind_code.choices = choices((code, data_name("lab_kinds", code, name))
                                     for code, name in lab_kind_names())
    countries = country_choices()
    if lab.country and lab.country not in {c.value for c in countries}:
        countries.append(SelectChoice(lab.country, country_name(lab.country)))
    form.country.choices = countries
    form.ket_codes.choices = _ket_choices()


def _ket_choices() -> list[SelectChoice]:
    return choices((code, data_name("ket_areas", code, name)) for code, name in ket_names().items())


def _profile(form: LabProfileForm) -> labs.LabProfile:
    return labs.LabProfile(
        name=form.name.data or "", kind_code=form.kind_code.data or "",
        country=form.country.data or "", description=form.description.data or "",
        capabilities=form.capabilities.data or "", contact_name=form.contact_name.data or "",
        contact_email=form.contact_email.data or "", contact_phone=form.contact_phone.data or "",
        website=form.website.data or "", address=form.address.data or "",
        postal_code=form.postal_code.data or "", city=form.city.data or "",
        timezone=form.timezone.data or "", ket_codes=tuple(form.ket_codes.data or ()),
        requires_approval=form.requires_approval.data,
        min_lead_hours=form.min_lead_hours.data, max_advance_days=form.max_advance_days.data,
        cancel_deadline_hours=form.cancel_deadline_hours.data, hold_hours=form.hold_hours.data,
        is_published=form.is_published.data, lat=form.lat.data, lon=form.lon.data,
        relocate=form.relocate.data,
    )


def _lab_page(lab: Lab, form: LabProfileForm) -> str:
    return render_template(
        "manage/edit_lab.html", page=catalogue.get_lab_page(current_user, lab), form=form,
        ket_tree=ket_tree(), zones=labs.european_time_zones(), retire_form=RetireForm(),
    )


@bp.route("/labs/<slug>", methods=["GET", "POST"])
def edit_lab(slug: str):
    lab = permissions.managed_lab_for(current_user, slug)
    if request.method == "POST":
        form = LabProfileForm()
    else:
        form = LabProfileForm(data=asdict(labs.profile_of(lab)))
    _lab_choices(form, lab)
    if form.validate_on_submit():
        done = commit_or_show(form, lambda: labs.update_lab_profile(
            current_user, lab, _profile(form), now=clock.utcnow()))
        if done:
            saved = done.value
            flash(_("The lab was saved."), "success")
            if saved.geocode == "placed":
                flash(_("Placed on the map at %(place)s.", place=saved.place_name), "info")
            elif saved.geocode == "queued":
                flash(_("The address will be placed on the map shortly; for now it is at "
                        "%(place)s.", place=saved.place_name) if saved.place_name
                      else _("The address will be placed on the map shortly."), "info")
            if saved.suggested_timezone:
                flash(_("The place found lies in the time zone %(zone)s; the lab keeps the "
                        "zone you chose.", zone=saved.suggested_timezone), "warning")
            return redirect(url_for(".edit_lab", slug=lab.slug))
    return _lab_page(lab, form), _status(form)


# --- opening hours -----------------------------------------------------------------------


def _weekdays() -> list[str]:
    """Monday … Sunday in the reader's language (English: the names as stored)."""
    if current_language() == "en":
        return list(WEEKDAYS)
    names = get_day_names("wide", locale=locale_object())
    return [str(names[day]).capitalize() for day in range(7)]


@bp.route("/labs/<slug>/hours", methods=["GET", "POST"])
def hours(slug: str):
    lab = labs.get_lab_for_edit(permissions.managed_lab_for(current_user, slug))
    per_day: dict[int, list] = {}
    for row in lab.opening_hours:
        per_day.setdefault(row.weekday, []).append(row)
    # Enough rows for what is stored, so a save never drops an interval the grid hid.
    form_class = hours_form_class(max([HOURS_SLOTS, *map(len, per_day.values())]))
    slots = form_class.slots  # type: ignore[attr-defined]
    if request.method == "POST":
        form = form_class()
    else:
        form = form_class(data={
            labs.hours_field(day, n, end): getattr(row, f"{end}_at")
            for day, rows in per_day.items() for n, row in enumerate(rows)
            for end in ("opens", "closes")
        })
    if form.validate_on_submit():
        week = {
            day: [(form[labs.hours_field(day, n, "opens")].data,
                   form[labs.hours_field(day, n, "closes")].data) for n in range(slots)]
            for day in range(7)
        }
        if commit_or_show(form, lambda: labs.set_opening_hours(current_user, lab, week,
                                                               now=clock.utcnow())):
            flash(_("Opening hours saved."), "success")
            return redirect(url_for(".hours", slug=lab.slug))
    return render_template("manage/hours.html", lab=lab, form=form, slots=slots,
                           weekdays=_weekdays(), day_keys=labs.DAY_KEYS), _status(form)


# --- equipment ---------------------------------------------------------------------------


def _equipment_choices(form: EquipmentForm) -> None:
    form.category_code.choices = [SelectChoice("", _("Choose a category…"))] + [
        SelectChoice(code, data_name("equipment_categories", code, name),
                     optgroup=data_name("equipment_groups", group, group))
        for code, name, group in category_groups()
    ]
    form.ket_codes.choices = _ket_choices()


def _equipment_data(form: EquipmentForm) -> labs.EquipmentData:
    specs = tuple(
        (key.data or "", value.data or "")
        for key, value in zip_longest(form.spec_keys, form.spec_values,
                                      fillvalue=type("Blank", (), {"data": ""})())
    )
    return labs.EquipmentData(
        name=form.name.data or "", category_code=form.category_code.data or "",
        rate_industry=form.rate_industry.data, rate_sme=form.rate_sme.data,
        rate_academic=form.rate_academic.data,
        maker=form.maker.data or "", model=form.model.data or "",
        description=form.description.data or "", booking_unit=form.booking_unit.data or "",
        min_units=form.min_units.data, max_units=form.max_units.data,
        buffer_minutes=form.buffer_minutes.data,
        currency=(form.currency.data or "").upper(), mode=form.mode.data or "",
        training_required=form.training_required.data, status=form.status.data or "",
        ket_codes=tuple(form.ket_codes.data or ()), specs=specs,
    )


def _equipment_form_data(data: labs.EquipmentData) -> dict[str, Any]:
    values = asdict(data)
    specs = values.pop("specs")
    values["spec_keys"] = [k for k, _ in specs] + [""] * SPEC_ROWS_BLANK
    values["spec_values"] = [v for _, v in specs] + [""] * SPEC_ROWS_BLANK
    return values


def _equipment_page(lab: Lab, form: EquipmentForm, item: Equipment | None = None):
    return render_template("manage/edit_equipment.html", lab=lab, form=form, item=item,
                           ket_tree=ket_tree(), currencies=labs.CURRENCIES,
                           retire_form=RetireForm()), _status(form)


@bp.route("/labs/<slug>/equipment/new", methods=["GET", "POST"])
def new_equipment(slug: str):
    lab = permissions.managed_lab_for(current_user, slug)
    if request.method == "POST":
        form = EquipmentForm()
    else:
        form = EquipmentForm(data={"min_units": 1, "max_units": 8, "buffer_minutes": 0,
                                   "currency": "EUR", "booking_unit": "hour",
                                   "mode": "operator_assisted", "status": "active"})
    _equipment_choices(form)
    if form.validate_on_submit():
        added = commit_or_show(form, lambda: labs.add_equipment(
            current_user, lab, _equipment_data(form), now=clock.utcnow()))
        if added:
            flash(_("%(name)s was added.", name=added.value.name), "success")
            return redirect(url_for(".edit_lab", slug=lab.slug))
    return _equipment_page(lab, form)


@bp.route("/equipment/<int:equipment_id>", methods=["GET", "POST"])
def edit_equipment(equipment_id: int):
    item = permissions.managed_equipment_for(current_user, equipment_id)
    lab = item.lab
    if request.method == "POST":
        form = EquipmentForm()
    else:
        form = EquipmentForm(data=_equipment_form_data(labs.data_of(item)))
    _equipment_choices(form)
    if form.validate_on_submit() and commit_or_show(form, lambda: labs.update_equipment(
            current_user, item, _equipment_data(form), now=clock.utcnow())):
        flash(_("The equipment was saved."), "success")
        return redirect(url_for(".edit_equipment", equipment_id=item.id))
    return _equipment_page(lab, form, item)


@bp.post("/equipment/<int:equipment_id>/retire")
def retire_equipment(equipment_id: int):
    item = permissions.managed_equipment_for(current_user, equipment_id)
    slug = item.lab.slug
    form = RetireForm()
    if not form.validate_on_submit():
        flash(_("The form had expired; nothing changed. Please try again."), "warning")
    elif labs.retire_equipment(current_user, item, now=clock.utcnow()):
        db.session.commit()
        flash(_("%(name)s was retired: it is hidden from the catalogue and kept for the "
                "bookings that refer to it.", name=item.name), "success")
    else:
        flash(_("%(name)s was already retired.", name=item.name), "info")
    return redirect(url_for(".edit_lab", slug=slug))


# --- CSV ---------------------------------------------------------------------------------


@bp.get("/labs/<slug>/equipment.csv")
def export_equipment(slug: str):
    lab = permissions.managed_lab_for(current_user, slug)
    return csv_download(labs.export_equipment_csv(current_user, lab),
                        f"{lab.slug}-equipment.csv")


@bp.get("/equipment-template.csv")
def equipment_template():
    return csv_download(labs.equipment_csv_template(), "labnet-equipment-template.csv")


@bp.get("/equipment-codes.csv")
def equipment_codes():
    return csv_download(labs.equipment_codes_csv(), "labnet-equipment-codes.csv")


@bp.route("/labs/<slug>/equipment/import", methods=["GET", "POST"])
def import_equipment(slug: str):
    lab = permissions.managed_lab_for(current_user, slug)
    form = ImportForm()
    problems: list[labs.ImportProblem] = []
    limit = current_app.config.get("CSV_MAX_BYTES", labs.CSV_MAX_BYTES)
    if form.validate_on_submit():
        # Read one byte past the limit: enough to know the file is too large.
        content = form.file.data.stream.read(limit + 1)
        imported = commit_or_show(form, lambda: labs.import_equipment_csv(
            current_user, lab, content, now=clock.utcnow(), max_bytes=limit))
        if not imported:
            problems = getattr(imported.refusal, "problems", [])
        else:
            result = imported.value
            flash(_("Imported: %(created)s added, %(updated)s updated.", created=result.created,
                    updated=result.updated), "success")
            return redirect(url_for(".edit_lab", slug=lab.slug))
    return render_template("manage/import_equipment.html", lab=lab, form=form,
                           problems=problems, limit=limit, columns=labs.CSV_COLUMNS,
                           codes=labs.equipment_code_choices()), _status(form)
