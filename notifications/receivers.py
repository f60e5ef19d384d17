"""Listens to tracking (every newly recorded event) and to appointments (every change): their
outbox rows are written in the same transaction."""

from typing import Any

from notifications.services import deliveries_create_for_event


def on_event_recorded(sender: Any, event: Any, **kwargs: Any) -> None:
    deliveries_create_for_event(event=event)


def on_appointment_changed(sender: Any, appointment: Any, action: str, **kwargs: Any) -> None:
    """An appointment change: what the appointments app says about it becomes a notice."""
    from dataclasses import asdict

    from appointments.notices import notice_for
    from notifications.kinds import kinds_for_appointment_action
    from notifications.services import notice_record

    kinds = kinds_for_appointment_action(action)
    if not kinds:
        return
    content = notice_for(appointment=appointment, action=action, **kwargs)
    if content is None:
        return
    notice_record(
        key=content.key,
        consignment=content.consignment,
        occurred_at=content.occurred_at,
        texts=content.texts,
        attachments=[asdict(item) for item in content.attachments],
        kinds=kinds,
    )
