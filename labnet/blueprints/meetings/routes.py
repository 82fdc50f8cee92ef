"""The Meet page of an event and its forms.

Events are loaded through ``permissions.meet_event_for`` (404 for a missing event or a
draft the viewer does not organise, 403 for one they may neither meet at nor organise);
meetings are found by the service among the viewer's own (404 for everyone else). Every
page sends visitors to log in first. Each POST calls one service of
``services.meetings.rules`` through the shared boundary (``commit_or_show``): a refusal
re-renders the page with the message on its field and the input kept (422, or 409 when a
slot was taken meanwhile), and nothing is written.
"""

from __future__ import annotations

from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from labnet import clock, permissions
from labnet.blueprints.helpers import choices, commit_or_flash, commit_or_show
from labnet.blueprints.meetings import bp
from labnet.blueprints.meetings.forms import (
    ActionForm,
    AnswerForm,
    MeetingRequestForm,
    ProfileForm,
)
from labnet.converters import parse_id
from labnet.errors import NotFound
from labnet.i18n import _, data_name
from labnet.models.events import Event
from labnet.services.catalogue.taxonomy import ket_names
from labnet.services.meetings import pages
from labnet.services.meetings import rules as service
from labnet.services.meetings.slots import parse_slot


def _actor():
    return current_user._get_current_object()


def _ket_choices() -> list[tuple[str, str]]:
    """(code, name) of the KET areas, names in the current language, sorted by name."""
    return sorted(((code, data_name("ket_areas", code, name))
                   for code, name in ket_names().items()), key=lambda kv: kv[1])


def _profile_form(form: ProfileForm, event: Event) -> ProfileForm:
    form.ket_codes.choices = choices(_ket_choices())
    form.project_id.choices = choices(
        [("", _("None")), *((str(pid), label) for pid, label
                         in service.partner_projects(_actor().organisation_id))])
    return form


def _page(event: Event, *, profile_form: ProfileForm | None = None,
          request_form: MeetingRequestForm | None = None, request_for: int | None = None,
          answer_form: AnswerForm | None = None, answer_for: int | None = None,
          status: int = 200) -> Any:
    now = clock.utcnow()
    actor = _actor()
    can_meet = permissions.can_meet(actor, event)
    ket = (request.args.get("ket") or "").strip().upper()[:20]
    page = pages.meet_page(event, actor, now=now, ket=ket) if can_meet else None
    if profile_form is None and can_meet:
        profile_form = ProfileForm(obj=None)
        if page is not None and page.mine is not None:
            profile_form.offer.data = page.mine.offer
            profile_form.looking_for.data = page.mine.looking_for
            profile_form.ket_codes.data = list(page.mine.ket_codes)
            profile_form.project_id.data = str(page.mine.project_id or "")
    if profile_form is not None:
        _profile_form(profile_form, event)
    figures = pages.meeting_figures(event, now=now) \
        if permissions.can_see_meeting_figures(actor, event) else None
    return render_template(
        "meetings/meet.html", event=event, page=page, can_meet=can_meet, figures=figures,
        profile_form=profile_form, request_form=request_form, request_for=request_for,
        answer_form=answer_form, answer_for=answer_for, action_form=ActionForm(),
        slot_text=lambda s: pages.slot_text(event, s.start, s.end), ket=ket,
        ket_choices=_ket_choices(),
        zone=event.timezone), status


def _post(event: Event, form: Any, call: Any, *, fields: tuple[str, ...], done: str,
          anchor: str, **page: Any) -> Any:
    """Run one service call as the request's transaction: on success flash ``done`` and go
    back to the Meet page at ``anchor``; on a refusal show the page again with the message
    on its field (or on ``fields[0]``) and the input kept (422, 409 for a taken slot)."""
    outcome = commit_or_show(form, call, fields=fields, fallback=fields[0])
    if outcome:
        flash(done, "success")
        return redirect(url_for(".meet", slug=event.slug) + f"#{anchor}")
    return _page(event, status=outcome.status, **page)


@bp.get("/events/<slug>/meet")
@login_required
def meet(slug: str):
    return _page(permissions.meet_event_for(_actor(), slug))


@bp.post("/events/<slug>/meet/profile")
@login_required
def profile(slug: str):
    event = permissions.meet_event_for(_actor(), slug)
    form = _profile_form(ProfileForm(), event)
    project = (form.project_id.data or "").strip()
    fields = service.ProfileFields(
        offer=form.offer.data or "", looking_for=form.looking_for.data or "",
        ket_codes=tuple(form.ket_codes.data or ()),
        project_id=parse_id(project) if project else None)
    if project and fields.project_id is None:
        form.project_id.errors = [_("Choose one of the projects your organisation is a "
                                    "partner of.")]
    elif form.validate_on_submit() and commit_or_show(form, lambda: service.save_profile(
            _actor(), event, fields, now=clock.utcnow())):
        flash(_("Your profile is on the Meet page."), "success")
        return redirect(url_for(".meet", slug=slug))
    return _page(event, profile_form=form, status=422)


@bp.post("/events/<slug>/meet/requests")
@login_required
def ask(slug: str):
    event = permissions.meet_event_for(_actor(), slug)
    form = MeetingRequestForm()
    invitee = parse_id(form.invitee.data or "")
    if invitee is None:
        raise NotFound(form.invitee.data)
    form.slot.choices = choices([(form.slot.data or "", form.slot.data or "")])
    if not form.validate_on_submit():
        return _page(event, request_form=form, request_for=invitee, status=422)
    return _post(event, form, lambda: service.request_meeting(
        _actor(), event, invitee, parse_slot(form.slot.data or ""), form.message.data or "",
        now=clock.utcnow()), fields=("slot", "message"),
        done=_("Your request is sent; you will hear by e-mail."), anchor=f"person-{invitee}",
        request_form=form, request_for=invitee)


@bp.post("/events/<slug>/meet/<int:meeting_id>/answer")
@login_required
def answer(slug: str, meeting_id: int):
    event = permissions.meet_event_for(_actor(), slug)
    form = AnswerForm()
    accept = form.answer.data == "accept"
    if form.answer.data not in ("accept", "decline"):
        form.answer_note.errors = [_("Choose accept or decline.")]
    if form.answer_note.errors or not form.validate_on_submit():
        return _page(event, answer_form=form, answer_for=meeting_id, status=422)
    return _post(event, form, lambda: service.answer_meeting(
        _actor(), event, meeting_id, accept, form.answer_note.data or "", now=clock.utcnow()),
        fields=("answer_note",), anchor="schedule",
        done=_("Meeting accepted: it is in your schedule.") if accept
        else _("Meeting declined."),
        answer_form=form, answer_for=meeting_id)


@bp.post("/events/<slug>/meet/<int:meeting_id>/take-back")
@login_required
def take_back(slug: str, meeting_id: int):
    event = permissions.meet_event_for(_actor(), slug)
    commit_or_flash(ActionForm(), lambda: service.take_back_meeting(
        _actor(), event, meeting_id, now=clock.utcnow()),
        done=_("The meeting is called off; the other person is told."))
    return redirect(url_for(".meet", slug=slug) + "#schedule")


@bp.get("/events/<slug>/meet/schedule.ics")
@login_required
def schedule_ics(slug: str):
    event = permissions.meet_event_for(_actor(), slug)
    permissions.require(permissions.can_meet, _actor(), event)  # organisers have no schedule
    body = pages.schedule_ics(event, _actor(), now=clock.utcnow())
    return Response(body, mimetype="text/calendar", headers={
        "Content-Disposition": f'attachment; filename="meetings-{event.slug}.ics"',
        "Cache-Control": "private, no-store"})
