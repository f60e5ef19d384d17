"""Who wants to hear what: per-kind, per-channel choices over role defaults, the phone number
(verified by a code sent by SMS before any SMS is sent to it) and SMS quiet hours."""

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from notifications import conf
from notifications.kinds import AGENT, CHANNELS, KINDS, OPERATOR
from notifications.models import PhoneVerification, Preference, Profile
from sesame.identifiers import validate_e164
from sesame.models import AgentProfile, Membership, Role

PARIS = ZoneInfo("Europe/Paris")


def preference_map(*, user_ids: list[int], kinds: list[str]) -> dict[tuple[int, str, str], bool]:
    """Explicit choices of these users for these kinds: {(user_id, kind, channel): enabled}."""
    return {
        (user_id, kind, channel): enabled
        for user_id, kind, channel, enabled in Preference.objects.filter(
            user_id__in=user_ids, kind__in=kinds
        ).values_list("user_id", "kind", "channel", "enabled")
    }


def role_for_user(*, user: Any) -> str:
    """The role whose defaults apply: company admin anywhere > operator > agent."""
    roles = set(Membership.objects.filter(user=user).values_list("role", flat=True))
    if Role.ADMIN in roles:
        return Role.ADMIN
    if roles:
        return OPERATOR
    if AgentProfile.objects.filter(user=user).exists():
        return AGENT
    return OPERATOR


@dataclass(frozen=True)
class Cell:
    kind: str
    channel: str
    enabled: bool
    default: bool


def preferences_for_user(*, user: Any) -> dict[str, dict[str, Cell]]:
    """The full matrix kind -> channel -> Cell (explicit choice, else the role default)."""
    role = role_for_user(user=user)
    explicit = preference_map(user_ids=[user.pk], kinds=list(KINDS))
    matrix: dict[str, dict[str, Cell]] = {}
    for code, kind in KINDS.items():
        matrix[code] = {}
        for channel in CHANNELS:
            default = channel in kind.defaults.get(role, frozenset())
            enabled = explicit.get((user.pk, code, channel), default)
            matrix[code][channel] = Cell(code, channel, enabled, default)
    return matrix


@transaction.atomic
def preferences_save(*, user: Any, enabled: set[tuple[str, str]]) -> None:
    """Store the user's whole matrix: every (kind, channel) in `enabled` on, the others off.

    Unknown kinds or channels are refused (ValidationError) and nothing changes.
    """
    for kind, channel in enabled:
        if kind not in KINDS or channel not in CHANNELS:
            raise ValidationError(_("Unknown notification kind or channel."))
    Preference.objects.bulk_create(
        [
            Preference(user=user, kind=kind, channel=channel, enabled=(kind, channel) in enabled)
            for kind in KINDS
            for channel in CHANNELS
        ],
        update_conflicts=True,
        unique_fields=["user", "kind", "channel"],
        update_fields=["enabled"],
    )


def profile_for_user(*, user: Any) -> Profile:
    return Profile.objects.get_or_create(user=user)[0]


@transaction.atomic
def quiet_hours_set(*, user: Any, start: dt.time | None, end: dt.time | None) -> Profile:
    """Set (both times) or clear (both None) the SMS quiet hours, Europe/Paris local time."""
    if (start is None) != (end is None):
        raise ValidationError(_("Give both the start and the end of the quiet hours, or neither."))
    if start is not None and start == end:
        raise ValidationError(_("The quiet hours must not start and end at the same time."))
    profile = Profile.objects.select_for_update().get_or_create(user=user)[0]
    profile.quiet_start, profile.quiet_end = start, end
    profile.save(update_fields=["quiet_start", "quiet_end"])
    return profile


def quiet_hours_end(*, profile: Profile, now: dt.datetime) -> dt.datetime | None:
    """When an SMS written at `now` may leave: None if now is outside the quiet hours, else the
    end of the current quiet period (Europe/Paris; a period may span midnight)."""
    start, end = profile.quiet_start, profile.quiet_end
    if start is None or end is None or start == end:
        return None
    local = now.astimezone(PARIS)
    t = local.time()
    if start < end:
        inside = start <= t < end
        end_day = local.date()
    else:  # e.g. 22:00 -> 07:00
        inside = t >= start or t < end
        end_day = local.date() if t < end else local.date() + dt.timedelta(days=1)
    if not inside:
        return None
    return dt.datetime.combine(end_day, end, tzinfo=PARIS)


def _code_hash(*, verification_user_id: int, phone: str, code: str) -> str:
    message = f"{verification_user_id}:{phone}:{code}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def phone_verification_start(*, user: Any, phone: str) -> PhoneVerification:
    """Send a 6-digit code by SMS to `phone` (E.164) and keep only its keyed hash.

    The code expires after NOTIFY_CODE_TTL_SECONDS; at most CODE_MAX_PER_HOUR codes per person
    per hour. The number is stored on the profile only once confirmed; until then SMS stay off.
    The SMS leaves after commit, from this process (the code never enters the broker).
    """
    phone = (phone or "").strip().replace(" ", "")
    validate_e164(phone)
    now = timezone.now()
    with transaction.atomic():
        Profile.objects.select_for_update().get_or_create(user=user)
        recent = PhoneVerification.objects.filter(
            user=user, created_at__gte=now - dt.timedelta(hours=1)
        ).count()
        if recent >= conf.CODE_MAX_PER_HOUR:
            raise ValidationError(_("Too many codes requested; try again in an hour."))
        code = f"{secrets.randbelow(1_000_000):06d}"
        verification = PhoneVerification.objects.create(
            user=user,
            phone=phone,
            code_hash=_code_hash(verification_user_id=user.pk, phone=phone, code=code),
            expires_at=now + dt.timedelta(seconds=conf.CODE_TTL_SECONDS),
        )
        body = _("Sesame: your verification code is %(code)s. It expires in 10 minutes.") % {
            "code": code
        }

        def send() -> None:
            from notifications import sms

            sms.send(to=phone, body=body)

        transaction.on_commit(send)
    return verification


def phone_verification_confirm(*, user: Any, code: str) -> Profile:
    """Check the code of the user's latest verification; on success the phone is verified.

    A wrong code counts an attempt (kept even though the call fails; at most
    CODE_MAX_ATTEMPTS); an expired, used or exhausted verification is refused. Raises
    ValidationError on any failure.
    """
    now = timezone.now()
    code = (code or "").strip()
    with transaction.atomic():
        verification = (
            PhoneVerification.objects.select_for_update()
            .filter(user=user, confirmed_at__isnull=True)
            .order_by("-created_at")
            .first()
        )
        if verification is None or verification.expires_at <= now:
            error = _("This code has expired; ask for a new one.")
        elif verification.attempts >= conf.CODE_MAX_ATTEMPTS:
            error = _("Too many wrong codes; ask for a new one.")
        else:
            given = _code_hash(verification_user_id=user.pk, phone=verification.phone, code=code)
            if (
                len(code) == 6
                and code.isdigit()
                and hmac.compare_digest(verification.code_hash, given)
            ):
                verification.confirmed_at = now
                verification.save(update_fields=["confirmed_at"])
                profile = Profile.objects.select_for_update().get_or_create(user=user)[0]
                profile.phone = verification.phone
                profile.phone_verified_at = now
                profile.save(update_fields=["phone", "phone_verified_at"])
                return profile
            verification.attempts += 1
            verification.save(update_fields=["attempts"])
            error = _("Wrong code.")
    raise ValidationError(error)


def phone_remove(*, user: Any) -> None:
    """Forget the phone number: no SMS any more until a new one is verified."""
    Profile.objects.filter(user=user).update(phone="", phone_verified_at=None)
