"""Pages. Operators: book from a consignment (a week of free slots, two clicks), move, cancel,
"my appointments" with filters and CSV, the waitlist, a calendar subscription. Agents (second
factor): the post's agenda of a day, its actions, closures, calendar settings, the waitlist of a
day. Thin: parse, call one selector or service, render."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from appointments import ics, schedule, selectors, services
from appointments.errors import AppointmentError
from appointments.forms import (
    AppointmentFilterForm,
    BookForm,
    CalendarForm,
    CancelForm,
    ClosureForm,
    CompleteForm,
    DayForm,
    MissedForm,
    WeekForm,
)
from appointments.models import Appointment, Service, WaitlistEntry
from appointments.services.common import precondition_check
from sesame.access import agent_required, member_required
from sesame.exports import csv_response
from tracking.models import Consignment
from tracking.selectors import consignments_for_company

PAGE_SIZE = 50


def _company(request: HttpRequest) -> Any:
    return request.membership.company  # type: ignore[attr-defined]


def _consignment(request: HttpRequest, pk: int) -> Consignment:
    return get_object_or_404(consignments_for_company(company=_company(request)), pk=pk)


def _appointment(request: HttpRequest, pk: int) -> Appointment:
    return get_object_or_404(selectors.appointments_for_company(company=_company(request)), pk=pk)


def _refused(request: HttpRequest, error: AppointmentError) -> None:
    messages.error(request, error.message if error.field != "containers" else error.detail)


def _by(request: HttpRequest) -> str:
    return request.user.email  # type: ignore[union-attr]


def eligible_services(consignment: Consignment) -> list[str]:
    """The services whose precondition the consignment meets (those it can book)."""
    found = []
    for service in Service.values:
        try:
            precondition_check(consignment=consignment, service=service)
        except AppointmentError:
            continue
        found.append(service)
    return found


# --- operators: booking -------------------------------------------------------------------


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _week(request: HttpRequest, consignment: Consignment) -> tuple[WeekForm, dict[str, Any]]:
    form = WeekForm(request.GET or {"service": (eligible_services(consignment) or ["SIVEP"])[0]})
    if not form.is_valid():
        return form, {}
    service = form.cleaned_data["service"]
    today = timezone.localdate()
    first = max(_monday(form.cleaned_data.get("week") or today), _monday(today))
    last = first + timedelta(days=6)
    calendar = (
        selectors.calendar_get(post=consignment.post, service=service)
        if consignment.post_id
        else None
    )
    slots = (
        selectors.availability(calendar=calendar, first=first, last=last)
        if calendar is not None
        else []
    )
    days: list[dict[str, Any]] = []
    for offset in range(7):
        day = first + timedelta(days=offset)
        day_slots = [s for s in slots if s.start.astimezone(schedule.PARIS).date() == day]
        days.append(
            {
                "date": day,
                "slots": day_slots,
                "holiday": schedule.holiday_name(day),
                "full": bool(day_slots) and all(s.free == 0 for s in day_slots),
            }
        )
    return form, {
        "service": service,
        "first": first,
        "previous": first - timedelta(days=7) if first > _monday(today) else None,
        "next": first + timedelta(days=7),
        "days": days,
        "any_slot": bool(slots),
    }


@member_required
@require_GET
def book_week(request: HttpRequest, pk: int) -> HttpResponse:
    """A week of the needed service's slots with their live free places (HTMX refreshes the
    grid); a slot is the first click, the confirmation the second."""
    consignment = _consignment(request, pk)
    form, week = _week(request, consignment)
    context = {
        "consignment": consignment,
        "form": form,
        "week": week,
        "services": eligible_services(consignment),
        "mode": "book",
    }
    template = "appointments/_week.html" if request.htmx else "appointments/book.html"  # type: ignore[attr-defined]
    return render(request, template, context, status=200 if form.is_valid() else 400)


def _slot_from(request: HttpRequest) -> datetime | None:
    raw = request.GET.get("start") or request.POST.get("start") or ""
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=schedule.PARIS)


@member_required
@require_http_methods(["GET", "POST"])
def book_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    consignment = _consignment(request, pk)
    service = request.GET.get("service") or request.POST.get("service") or ""
    start = _slot_from(request)
    if service not in Service.values or start is None:
        raise Http404
    form = BookForm(
        request.POST or None,
        initial={"start": start},
        containers=list(consignment.container_numbers),
    )
    if request.method == "POST" and form.is_valid():
        try:
            appointment = services.appointment_book(
                consignment=consignment,
                service=service,
                start=form.cleaned_data["start"],
                containers=form.cleaned_data["containers"],
                contact_phone=form.cleaned_data["contact_phone"],
                note=form.cleaned_data["note"],
                by=_by(request),
            )
        except AppointmentError as exc:
            if exc.field in ("containers", "contact_phone"):
                form.add_error(exc.field, exc.detail)
            else:
                _refused(request, exc)
                week = reverse("appointments:book", args=[consignment.pk])
                return redirect(f"{week}?service={service}&week={start.date().isoformat()}")
        else:
            messages.success(request, _("Appointment booked."))
            return redirect("appointments:detail", pk=appointment.pk)
    calendar = (
        selectors.calendar_get(post=consignment.post, service=service)
        if consignment.post_id
        else None
    )
    minutes = calendar.slot_minutes if calendar is not None else 30
    return render(
        request,
        "appointments/confirm.html",
        {
            "consignment": consignment,
            "service": service,
            "service_label": Service(service).label,
            "start": start,
            "end": start + timedelta(minutes=minutes),
            "form": form,
            "action": reverse("appointments:book-confirm", args=[consignment.pk]),
        },
        status=400 if request.method == "POST" else 200,
    )


@member_required
@require_GET
def appointment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = _appointment(request, pk)
    return render(request, "appointments/detail.html", {"appointment": appointment})


@member_required
@require_GET
def appointment_ics(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = _appointment(request, pk)
    response = HttpResponse(
        ics.appointment_ics(appointment),
        content_type=f"text/calendar; method={ics.method(appointment)}; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="rendez-vous-{pk}.ics"'
    return response


@member_required
@require_http_methods(["GET", "POST"])
def reschedule(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = _appointment(request, pk)
    if request.method == "POST":
        start = _slot_from(request)
        if start is None:
            raise Http404
        try:
            services.appointment_reschedule(appointment=appointment, start=start, by=_by(request))
        except AppointmentError as exc:
            _refused(request, exc)
            return redirect("appointments:reschedule", pk=pk)
        messages.success(request, _("Appointment moved."))
        return redirect("appointments:detail", pk=pk)
    query = request.GET.copy()
    query["service"] = appointment.service
    request.GET = query  # type: ignore[misc,assignment]
    form, week = _week(request, appointment.consignment)
    context = {
        "consignment": appointment.consignment,
        "appointment": appointment,
        "form": form,
        "week": week,
        "services": [appointment.service],
        "mode": "reschedule",
    }
    template = "appointments/_week.html" if request.htmx else "appointments/book.html"  # type: ignore[attr-defined]
    return render(request, template, context)


@member_required
@require_http_methods(["GET", "POST"])
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """A confirmation step, then the cancellation."""
    appointment = _appointment(request, pk)
    form = CancelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.appointment_cancel(
                appointment=appointment, reason=form.cleaned_data["reason"], by=_by(request)
            )
        except AppointmentError as exc:
            _refused(request, exc)
        else:
            messages.success(request, _("Appointment cancelled."))
        return redirect("appointments:detail", pk=pk)
    return render(request, "appointments/cancel.html", {"appointment": appointment, "form": form})


# --- operators: my appointments, CSV, waitlist, feed -----------------------------------------


def _filtered(request: HttpRequest) -> tuple[AppointmentFilterForm, Any]:
    appointments = selectors.appointments_for_company(company=_company(request))
    form = AppointmentFilterForm(request.GET or None)
    if form.is_bound and form.is_valid():
        appointments = selectors.appointments_filter(appointments, **form.filters())
    elif form.is_bound:
        appointments = appointments.none()
    return form, appointments


@member_required
@require_GET
def my_appointments(request: HttpRequest) -> HttpResponse:
    form, appointments = _filtered(request)
    page = Paginator(appointments, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    feeds = request.user.appointment_feeds.filter(  # type: ignore[union-attr]
        revoked_at__isnull=True, company=_company(request)
    )
    return render(
        request,
        "appointments/list.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "waitlist": selectors.waitlist_for_company(company=_company(request))
            .filter(status__in=["waiting", "offered"])
            .order_by("date", "created_at"),
            "feeds": list(feeds),
            "feed_url": request.session.pop("appointments_feed_url", ""),
        },
        status=400 if form.is_bound and not form.is_valid() else 200,
    )


@member_required
@require_GET
def export(request: HttpRequest) -> HttpResponse:
    form, appointments = _filtered(request)
    if form.is_bound and not form.is_valid():
        return HttpResponse(form.errors.as_text(), status=400, content_type="text/plain")

    def rows() -> Any:
        for a in appointments.iterator(chunk_size=500):
            yield [
                a.consignment.reference,
                a.get_service_display(),
                a.post.code,
                timezone.localtime(a.start).strftime("%d/%m/%Y %H:%M"),
                timezone.localtime(a.end).strftime("%H:%M"),
                a.get_status_display(),
                _("yes") if a.priority else _("no"),
                " ".join(a.containers),
                a.get_result_display() if a.result else "",
            ]

    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return csv_response(  # type: ignore[return-value]
        filename=f"rendez-vous-{stamp}.csv",
        header=[
            _("Consignment"),
            _("Service"),
            _("Border control post"),
            _("Start"),
            _("End"),
            _("Status"),
            _("Priority"),
            _("Containers"),
            _("Result"),
        ],
        rows=rows(),
    )


@member_required
@require_POST
def waitlist_join(request: HttpRequest, pk: int) -> HttpResponse:
    consignment = _consignment(request, pk)
    service = request.POST.get("service", "")
    try:
        day = date.fromisoformat(request.POST.get("date", ""))
        services.waitlist_join(consignment=consignment, service=service, day=day, by=_by(request))
    except ValueError:
        messages.error(request, _("Choose a day."))
    except AppointmentError as exc:
        _refused(request, exc)
    else:
        messages.success(request, _("You are on the waitlist for that day."))
    return redirect("appointments:list")


def _entry(request: HttpRequest, pk: int) -> WaitlistEntry:
    return get_object_or_404(selectors.waitlist_for_company(company=_company(request)), pk=pk)


@member_required
@require_POST
def waitlist_accept(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        appointment = services.waitlist_accept(entry=_entry(request, pk), by=_by(request))
    except AppointmentError as exc:
        _refused(request, exc)
        return redirect("appointments:list")
    messages.success(request, _("Appointment booked."))
    return redirect("appointments:detail", pk=appointment.pk)


@member_required
@require_POST
def waitlist_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        services.waitlist_cancel(entry=_entry(request, pk), by=_by(request))
    except AppointmentError as exc:
        _refused(request, exc)
    return redirect("appointments:list")


def _feed_created(request: HttpRequest, token: str) -> None:
    url = request.build_absolute_uri(reverse("appointments:feed", args=[token]))
    request.session["appointments_feed_url"] = url
    messages.success(
        request, _("Your subscription address is below: copy it now, it is shown only once.")
    )


@member_required
@require_POST
def feed_create(request: HttpRequest) -> HttpResponse:
    _feed, token = services.feed_token_create(user=request.user, company=_company(request))
    _feed_created(request, token)
    return redirect("appointments:list")


@require_POST
def feed_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    if not request.user.is_authenticated:
        raise Http404
    if not services.feed_token_revoke(user=request.user, pk=pk):
        raise Http404
    messages.success(request, _("The subscription address no longer works."))
    return redirect(request.POST.get("next") or "appointments:list")


@require_GET
def feed(request: HttpRequest, token: str) -> HttpResponse:
    """A private calendar feed (no sign-in: the token is the key; a revoked one is 404)."""
    found = selectors.feed_token_find(token=token)
    if found is None:
        raise Http404
    name = "Sesame — " + (found.company.name if found.company else found.post.name)  # type: ignore[union-attr]
    body = ics.feed_ics(selectors.feed_appointments(feed=found), name)
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, max-age=300"
    return response


# --- agents ----------------------------------------------------------------------------------


def _agent(request: HttpRequest) -> Any:
    return request.agent  # type: ignore[attr-defined]


@agent_required
@require_GET
def agenda(request: HttpRequest) -> HttpResponse:
    """The post's appointments of a day, per service (print-friendly)."""
    agent = _agent(request)
    form = DayForm(request.GET or None)
    day = form.day()
    service = (form.cleaned_data.get("service") if form.is_valid() else "") or ""
    appointments = list(selectors.agenda(post=agent.post, day=day, service=service))
    own = selectors.AGENT_SERVICES.get(agent.service, "")
    return render(
        request,
        "appointments/agenda.html",
        {
            "form": form,
            "day": day,
            "previous": day - timedelta(days=1),
            "next": day + timedelta(days=1),
            "service": service,
            "appointments": appointments,
            "own_service": own,
            "post": agent.post,
            "complete_form": CompleteForm(),
            "feeds": list(
                request.user.appointment_feeds.filter(  # type: ignore[union-attr]
                    revoked_at__isnull=True, post=agent.post
                )
            ),
            "feed_url": request.session.pop("appointments_feed_url", ""),
        },
    )


def _agent_appointment(request: HttpRequest, pk: int) -> Appointment:
    found = selectors.appointment_for_agent_action(agent=_agent(request), pk=pk)
    if found is None:
        raise Http404
    return found


def _back_to_agenda(appointment: Appointment) -> HttpResponse:
    day = appointment.start.astimezone(schedule.PARIS).date()
    return redirect(f"{reverse('appointments:agenda')}?date={day.isoformat()}")


@agent_required
@require_POST
def agent_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    appointment = _agent_appointment(request, pk)
    by = _by(request)
    try:
        if action == "check-in":
            services.appointment_check_in(appointment=appointment, by=by)
        elif action == "no-show":
            services.appointment_no_show(appointment=appointment, by=by)
        elif action == "missed":
            form = MissedForm(request.POST)
            form.is_valid()
            services.appointment_miss(
                appointment=appointment, reason=form.cleaned_data.get("reason", ""), by=by
            )
        elif action == "complete":
            complete = CompleteForm(request.POST)
            if not complete.is_valid():
                messages.error(request, _("Choose the check and its result."))
                return _back_to_agenda(appointment)
            services.appointment_complete(
                appointment=appointment, by=by, user=request.user, **complete.cleaned_data
            )
        else:
            raise Http404
    except AppointmentError as exc:
        _refused(request, exc)
    else:
        messages.success(request, _("Recorded."))
    return _back_to_agenda(appointment)


@agent_required
@require_http_methods(["GET", "POST"])
def closures(request: HttpRequest) -> HttpResponse:
    agent = _agent(request)
    form = ClosureForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            _closure, rebooked = services.closure_declare(
                post=agent.post, by=_by(request), **form.cleaned_data
            )
        except AppointmentError as exc:
            _refused(request, exc)
        else:
            messages.success(
                request,
                _("Closure recorded; %(count)s appointment(s) rebooked with priority.")
                % {"count": len(rebooked)},
            )
            return redirect("appointments:closures")
    return render(
        request,
        "appointments/closures.html",
        {"form": form, "closures": selectors.closures_of_post(post=agent.post), "post": agent.post},
        status=400 if request.method == "POST" else 200,
    )


@agent_required
@require_http_methods(["GET", "POST"])
def calendar_settings(request: HttpRequest) -> HttpResponse:
    """The calendar of the agent's post and service."""
    agent = _agent(request)
    service = selectors.AGENT_SERVICES.get(agent.service, Service.SIVEP)
    calendar = selectors.calendar_get(post=agent.post, service=service)
    initial = (
        {
            name: getattr(calendar, name)
            for name in ("hours", "slot_minutes", "capacity", "notice_hours", "horizon_days")
        }
        if calendar
        else {}
    )
    form = CalendarForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.calendar_set(post=agent.post, service=service, **form.cleaned_data)
        messages.success(request, _("Calendar saved."))
        return redirect("appointments:calendar")
    return render(
        request,
        "appointments/calendar.html",
        {"form": form, "post": agent.post, "service_label": Service(service).label},
        status=400 if request.method == "POST" else 200,
    )


@agent_required
@require_GET
def waitlist_day(request: HttpRequest) -> HttpResponse:
    agent = _agent(request)
    form = DayForm(request.GET or None)
    day = form.day()
    service = (form.cleaned_data.get("service") if form.is_valid() else "") or (
        selectors.AGENT_SERVICES.get(agent.service, Service.SIVEP)
    )
    return render(
        request,
        "appointments/waitlist_day.html",
        {
            "form": form,
            "day": day,
            "service": service,
            "entries": selectors.waitlist_of_day(post=agent.post, service=service, day=day),
            "post": agent.post,
        },
    )


@agent_required
@require_POST
def agent_feed_create(request: HttpRequest) -> HttpResponse:
    _feed, token = services.feed_token_create(user=request.user, post=_agent(request).post)
    _feed_created(request, token)
    return redirect("appointments:agenda")
