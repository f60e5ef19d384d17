"""What GUN services refuse, with a stable machine-readable code (the API's error ``code``)."""

from __future__ import annotations


class GunError(Exception):
    """A business refusal. ``http_status``: how the API answers it."""

    http_status = 409

    def __init__(self, code: str, detail: str = "", **extra: object) -> None:
        super().__init__(detail or code)
        self.code = code
        self.detail = detail or code
        self.extra = extra


class GunConflict(GunError):
    """The object's status (or a concurrent change) does not allow the action: 409."""


class StatusConflict(GunConflict):
    """Acting on a declaration in the wrong status: 409 with code ``status_<status>``."""

    def __init__(self, status: str, action: str) -> None:
        super().__init__(
            f"status_{status}",
            f"A declaration in status {status!r} cannot be {action}.",
            status=status,
        )


class GunBusy(GunConflict):
    """The documents stayed locked by other validations after a few attempts: 409 ``busy``."""

    def __init__(self) -> None:
        super().__init__("busy", "The documents are busy with another declaration; retry.")


class GunForbidden(GunError):
    """The caller may not act on this object at all: 403."""

    http_status = 403


class GunInvalid(GunError):
    """A value refused by a rule the serializer cannot see: 400 on ``field``."""

    http_status = 400

    def __init__(self, field: str, code: str, detail: str) -> None:
        super().__init__(code, detail)
        self.field = field
