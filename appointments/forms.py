from datetime import date as date_type
from datetime import datetime
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from appointments import schedule
from appointments.models import AppointmentStatus, Check, Result, Service

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class AppointmentFilterForm(forms.Form):
    q = forms.CharField(label=_("Consignment or container"), max_length=40, required=False)
    service = forms.ChoiceField(
        label=_("Service"), choices=[("", _("All")), *Service.choices], required=False
    )
    status = forms.ChoiceField(
        label=_("Status"), choices=[("", _("All")), *AppointmentStatus.choices], required=False
    )
    start_from = forms.DateField(label=_("From"), required=False, widget=DATE)
    start_to = forms.DateField(label=_("To"), required=False, widget=DATE)

    def filters(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "search": data.get("q") or "",
            "service": data.get("service") or "",
            "status": data.get("status") or "",
            "start_from": data.get("start_from"),
            "start_to": data.get("start_to"),
        }


class WeekForm(forms.Form):
    service = forms.ChoiceField(label=_("Service"), choices=Service.choices)
    week = forms.DateField(label=_("Week of"), required=False, widget=DATE)


class BookForm(forms.Form):
    start = forms.DateTimeField(widget=forms.HiddenInput)
    containers = forms.MultipleChoiceField(
        label=_("Containers to present"), widget=forms.CheckboxSelectMultiple, required=False
    )
    contact_phone = forms.CharField(
        label=_("Phone number on the day (international form, e.g. +33612345678)"),
        max_length=20,
        required=False,
    )
    note = forms.CharField(
        label=_("Note for the inspectors"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, containers: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["containers"]
        field.choices = [(c, c) for c in containers]  # type: ignore[attr-defined]
        field.initial = containers


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason (optional)"), max_length=500, required=False)


class CompleteForm(forms.Form):
    check = forms.ChoiceField(label=_("Check"), choices=Check.choices, widget=forms.RadioSelect)
    result = forms.ChoiceField(label=_("Result"), choices=Result.choices, widget=forms.RadioSelect)
    note = forms.CharField(label=_("Note"), max_length=1000, required=False)


class MissedForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)


class ClosureForm(forms.Form):
    service = forms.ChoiceField(
        label=_("Service"), choices=[("", _("All services")), *Service.choices], required=False
    )
    starts_at = forms.DateTimeField(label=_("From"), widget=DATETIME)
    ends_at = forms.DateTimeField(label=_("Until"), widget=DATETIME)
    reason = forms.CharField(label=_("Reason"), max_length=200)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        starts, ends = data.get("starts_at"), data.get("ends_at")
        if isinstance(starts, datetime) and isinstance(ends, datetime) and ends <= starts:
            self.add_error("ends_at", _("The closure must end after it starts."))
        return data


class CalendarForm(forms.Form):
    hours = forms.CharField(
        label=_("Opening hours (e.g. mon-fri 08:00-12:00 13:30-17:00; sat 08:00-12:00)"),
        max_length=500,
    )
    slot_minutes = forms.IntegerField(label=_("Slot length (minutes)"), min_value=5, max_value=480)
    capacity = forms.IntegerField(label=_("Appointments per slot"), min_value=0, max_value=500)
    notice_hours = forms.IntegerField(label=_("Notice (hours)"), min_value=0, max_value=720)
    horizon_days = forms.IntegerField(label=_("Horizon (days)"), min_value=0, max_value=366)

    def clean_hours(self) -> str:
        try:
            return schedule.hours_parse(self.cleaned_data["hours"].strip()).spec()
        except schedule.HoursError as exc:
            raise forms.ValidationError(str(exc)) from None


class DayForm(forms.Form):
    date = forms.DateField(label=_("Day"), required=False, widget=DATE)
    service = forms.ChoiceField(
        label=_("Service"), choices=[("", _("All")), *Service.choices], required=False
    )

    def day(self) -> date_type:
        value = self.cleaned_data.get("date") if self.is_valid() else None
        return value or timezone.localdate()
