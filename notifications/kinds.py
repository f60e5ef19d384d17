"""The registry of notification kinds: which tracking events they follow, how urgent they are,
who gets them by default and what they say (French and English texts, declared once as data).

Adding a notification kind is adding an entry here, not a branch in the pipeline.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext_lazy as _

SMS = "sms"
EMAIL = "email"
INBOX = "inbox"
CHANNELS = (SMS, EMAIL, INBOX)
CHANNEL_LABELS = {SMS: _("SMS"), EMAIL: _("Email"), INBOX: _("Inbox")}

# Roles of the defaults: the two company roles (sesame.Role) and border agents.
ADMIN = "admin"
OPERATOR = "operator"
AGENT = "agent"


def _always(payload: dict[str, Any]) -> bool:
    return True


@dataclass(frozen=True)
class NotificationKind:
    code: str
    label: Any  # lazy translation
    event_kinds: frozenset[str]  # tracking.kinds codes this kind follows
    urgent: bool  # urgent kinds ignore SMS quiet hours
    # Texts per language; placeholders: {reference}, {port}, {event}, {when}, {detail}.
    subject: dict[str, str]
    text: dict[str, str]
    defaults: dict[str, frozenset[str]]  # role -> channels enabled by default
    matches: Callable[[dict[str, Any]], bool] = field(default=_always)
    to_agents: bool = False  # also the agents of the consignment's border control post
    # appointments.signals.appointment_changed actions this kind follows (notices).
    appointment_actions: frozenset[str] = frozenset()

    def render(self, language: str, **values: str) -> tuple[str, str]:
        """(subject, text) in `language` (French when unknown)."""
        lang = language if language in self.text else "fr"
        return self.subject[lang].format(**values), self.text[lang].format(**values)


ALL = frozenset(CHANNELS)
EMAIL_INBOX = frozenset({EMAIL, INBOX})
INBOX_ONLY = frozenset({INBOX})


def _urgent_defaults() -> dict[str, frozenset[str]]:
    return {ADMIN: ALL, OPERATOR: ALL, AGENT: frozenset()}


def _info_defaults() -> dict[str, frozenset[str]]:
    return {ADMIN: EMAIL_INBOX, OPERATOR: INBOX_ONLY, AGENT: frozenset()}


_KINDS = [
    NotificationKind(
        "gun_rejection",
        _("Declaration rejected by the GUN"),
        frozenset({"declaration_rejected", "gun_result"}),
        urgent=True,
        subject={
            "fr": "[Sesame] Déclaration rejetée — {reference}",
            "en": "[Sesame] Declaration rejected — {reference}",
        },
        text={
            "fr": "Sesame : la déclaration du lot {reference} ({port}) a été rejetée le {when}. "
            "{detail}",
            "en": "Sesame: the declaration of consignment {reference} ({port}) was rejected on "
            "{when}. {detail}",
        },
        defaults=_urgent_defaults(),
        # gun_result notifies only when the cross-checks failed.
        matches=lambda payload: payload.get("outcome", "ko") == "ko",
    ),
    NotificationKind(
        "control_required",
        _("Control required"),
        frozenset({"declaration_controlled"}),
        urgent=True,
        subject={
            "fr": "[Sesame] Contrôle requis — {reference}",
            "en": "[Sesame] Control required — {reference}",
        },
        text={
            "fr": "Sesame : le lot {reference} ({port}) est sélectionné pour un contrôle "
            "({when}). {detail}",
            "en": "Sesame: consignment {reference} ({port}) is selected for a control "
            "({when}). {detail}",
        },
        defaults={ADMIN: ALL, OPERATOR: ALL, AGENT: EMAIL_INBOX},
        to_agents=True,
    ),
    NotificationKind(
        "control_decision",
        _("Control decision"),
        frozenset({"declaration_validated"}),
        urgent=False,
        subject={
            "fr": "[Sesame] Décision de contrôle — {reference}",
            "en": "[Sesame] Control decision — {reference}",
        },
        text={
            "fr": "Sesame : décision sur la déclaration du lot {reference} ({port}) : {event}, "
            "le {when}. {detail}",
            "en": "Sesame: decision on the declaration of consignment {reference} ({port}): "
            "{event}, on {when}. {detail}",
        },
        defaults=_info_defaults(),
    ),
    NotificationKind(
        "ched_decision",
        _("CHED decision"),
        frozenset({"ched_decision"}),
        urgent=False,
        subject={
            "fr": "[Sesame] Décision DSCE — {reference}",
            "en": "[Sesame] CHED decision — {reference}",
        },
        text={
            "fr": "Sesame : décision DSCE pour le lot {reference} ({port}) le {when}. {detail}",
            "en": "Sesame: CHED decision for consignment {reference} ({port}) on {when}. {detail}",
        },
        defaults={ADMIN: ALL, OPERATOR: EMAIL_INBOX, AGENT: frozenset()},
    ),
    NotificationKind(
        "check_results",
        _("Check results"),
        frozenset(
            {
                "documentary_check",
                "identity_check",
                "physical_check",
                "fl_certificate",
                "organic_check",
            }
        ),
        urgent=False,
        subject={
            "fr": "[Sesame] Résultat de contrôle — {reference}",
            "en": "[Sesame] Check result — {reference}",
        },
        text={
            "fr": "Sesame : {event} du lot {reference} ({port}) le {when}. {detail}",
            "en": "Sesame: {event} of consignment {reference} ({port}) on {when}. {detail}",
        },
        defaults=_info_defaults(),
    ),
    NotificationKind(
        "release",
        _("Release (BAE)"),
        frozenset({"release"}),
        urgent=False,
        subject={
            "fr": "[Sesame] Bon à enlever — {reference}",
            "en": "[Sesame] Release (BAE) — {reference}",
        },
        text={
            "fr": "Sesame : le lot {reference} ({port}) a reçu son bon à enlever le {when}.",
            "en": "Sesame: consignment {reference} ({port}) was released (BAE) on {when}.",
        },
        defaults={ADMIN: ALL, OPERATOR: EMAIL_INBOX, AGENT: frozenset()},
    ),
    NotificationKind(
        "appointment_confirmed",
        _("Appointment confirmed"),
        frozenset({"appointment_confirmed", "appointment_booked"}),
        urgent=False,
        subject={
            "fr": "[Sesame] Rendez-vous confirmé — {reference}",
            "en": "[Sesame] Appointment confirmed — {reference}",
        },
        text={
            "fr": "Sesame : rendez-vous de contrôle confirmé pour le lot {reference} ({port}). "
            "{detail}",
            "en": "Sesame: inspection appointment confirmed for consignment {reference} "
            "({port}). {detail}",
        },
        defaults=_info_defaults(),
        appointment_actions=frozenset({"booked"}),
    ),
    NotificationKind(
        "appointment_reminder",
        _("Appointment reminder"),
        frozenset({"appointment_reminder"}),
        urgent=False,
        subject={
            "fr": "[Sesame] Rappel de rendez-vous — {reference}",
            "en": "[Sesame] Appointment reminder — {reference}",
        },
        text={
            "fr": "Sesame : rappel, rendez-vous de contrôle pour le lot {reference} ({port}). "
            "{detail}",
            "en": "Sesame: reminder, inspection appointment for consignment {reference} "
            "({port}). {detail}",
        },
        defaults={ADMIN: ALL, OPERATOR: ALL, AGENT: frozenset()},
        appointment_actions=frozenset({"reminder"}),
    ),
    NotificationKind(
        "appointment_changed",
        _("Appointment changed"),
        frozenset({"appointment_changed", "appointment_cancelled", "appointment_rescheduled"}),
        urgent=True,
        subject={
            "fr": "[Sesame] Rendez-vous modifié — {reference}",
            "en": "[Sesame] Appointment changed — {reference}",
        },
        text={
            "fr": "Sesame : le rendez-vous de contrôle du lot {reference} ({port}) a changé. "
            "{detail}",
            "en": "Sesame: the inspection appointment of consignment {reference} ({port}) "
            "changed. {detail}",
        },
        defaults=_urgent_defaults(),
        appointment_actions=frozenset({"rescheduled", "cancelled", "missed"}),
    ),
    NotificationKind(
        "appointment_offer",
        _("Waitlist: a place is offered"),
        frozenset(),
        urgent=True,
        subject={
            "fr": "[Sesame] Place disponible — {reference}",
            "en": "[Sesame] A place is free — {reference}",
        },
        text={
            "fr": "Sesame : une place de contrôle se libère pour le lot {reference} ({port}). "
            "{detail}",
            "en": "Sesame: an inspection place is free for consignment {reference} ({port}). "
            "{detail}",
        },
        defaults=_urgent_defaults(),
        appointment_actions=frozenset({"waitlist_offered"}),
    ),
    NotificationKind(
        "document_added",
        _("Document added"),
        frozenset({"document_added"}),
        urgent=False,
        subject={
            "fr": "[Sesame] Nouveau document — {reference}",
            "en": "[Sesame] New document — {reference}",
        },
        text={
            "fr": "Sesame : un document a été ajouté au dossier du lot {reference} ({port}). "
            "{detail}",
            "en": "Sesame: a document was added to the dossier of consignment {reference} "
            "({port}). {detail}",
        },
        defaults={ADMIN: INBOX_ONLY, OPERATOR: INBOX_ONLY, AGENT: frozenset()},
    ),
    NotificationKind(
        "dossier_completed",
        _("Import dossier complete"),
        frozenset(),  # follows the dossier's signal, not a tracking event
        urgent=False,
        subject={
            "fr": "[Sesame] Dossier complet — {reference}",
            "en": "[Sesame] Dossier complete — {reference}",
        },
        text={
            "fr": "Sesame : le dossier d'import du lot {reference} ({port}) contient désormais "
            "tous les documents requis.",
            "en": "Sesame: the import dossier of consignment {reference} ({port}) now holds "
            "every required document.",
        },
        defaults={ADMIN: EMAIL_INBOX, OPERATOR: INBOX_ONLY, AGENT: frozenset()},
    ),
]

KINDS: dict[str, NotificationKind] = {kind.code: kind for kind in _KINDS}
KIND_CHOICES = [(kind.code, kind.label) for kind in _KINDS]


def kinds_for_appointment_action(action: str) -> list[NotificationKind]:
    """The notification kinds an appointment change (appointments.signals) triggers."""
    return [kind for kind in _KINDS if action in kind.appointment_actions]


def kinds_for_event(event_kind: str, payload: dict[str, Any]) -> list[NotificationKind]:
    """The notification kinds a tracking event of `event_kind` with `payload` triggers."""
    return [
        kind
        for kind in _KINDS
        if event_kind in kind.event_kinds and kind.matches(payload if payload else {})
    ]
