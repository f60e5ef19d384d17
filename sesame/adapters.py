"""allauth, configured for the portal: no open sign-up; sign-in throttling that says how long to
wait and leaves every failure in the audit trail.

Throttling uses allauth's limits and counters (`ACCOUNT_RATE_LIMITS["login_failed"]` in
settings, counted in Redis): per account and per network address, separately. An attempt is
refused before it is counted while either limit holds, so the attempts of someone locked out
of their account do not use up their address's allowance, and a colleague behind the same
address (an office's NAT) still signs in.
"""

import math
import time
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.internal import ratelimit as allauth_ratelimit
from django import forms
from django.core.cache import cache
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from sesame import services

TOO_MANY = "too_many_login_attempts"
APP = "allauth.account"


def login_wait(request: HttpRequest, *, key: str) -> tuple[int, str]:
    """(seconds until a sign-in with `key` from this address is counted again, which limit
    holds it: "key" or "ip"), from allauth's own counters; (0, "") when none is exceeded.

    allauth keeps, per limit, the times of the recent failures, newest first: a limit of N
    frees a slot when the N-th newest leaves its window."""
    now = time.time()
    wait, per = 0.0, ""
    for rate in allauth_ratelimit.get_rates(app=APP, action="login_failed"):
        cache_key = allauth_ratelimit.get_cache_key(
            request, app=APP, action="login_failed", rate=rate, key=key
        )
        history = cache.get(cache_key, [])
        recent = [stamp for stamp in history if stamp > now - rate.duration]
        if len(recent) >= rate.amount:
            free_at = recent[rate.amount - 1] + rate.duration
            if free_at - now > wait:
                wait, per = free_at - now, rate.per
    return math.ceil(wait), per


def wait_text(seconds: int) -> str:
    """ "1 minute", "4 minutes", "45 seconds": how long, as a person says it."""
    if seconds < 60:
        return ngettext("%(n)d second", "%(n)d seconds", seconds) % {"n": seconds}
    minutes = math.ceil(seconds / 60)
    return ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}


class AccountAdapter(DefaultAccountAdapter):
    """Accounts are created by invitation (a company administrator) or for agents, never by open
    sign-up. A refused sign-in says how long to wait; every failure is audited."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False

    def validation_error(self, code: str, *args: Any) -> forms.ValidationError:
        if code != TOO_MANY:
            return super().validation_error(code, *args)
        # Reached by the authenticator-code step (allauth.mfa), which does not say which
        # counter holds it: the longest wait is the per-account window. The password step
        # replaces this with the exact wait (pre_authenticate).
        seconds = max(
            (
                int(rate.duration)
                for rate in allauth_ratelimit.get_rates(app=APP, action="login_failed")
                if rate.per == "key"
            ),
            default=60,
        )
        return forms.ValidationError(
            _("Too many wrong codes. Try again in %(wait)s at the latest.")
            % {"wait": wait_text(seconds)},
            code=TOO_MANY,
        )

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        """Refuse, saying how long to wait, while a limit holds this account or this address;
        a refused attempt is not counted (so it neither extends the wait nor uses up the
        address's allowance for the other accounts, nor the account's for other addresses).
        Otherwise allauth counts the attempt (and forgets it if the password is right)."""
        key = self._get_login_attempts_cache_key(request, **credentials)
        seconds, per = login_wait(request, key=key)
        if seconds <= 0:
            try:
                super().pre_authenticate(request, **credentials)
                return
            except forms.ValidationError as exc:
                if getattr(exc, "code", None) != TOO_MANY:
                    raise
                # Another attempt filled the last slot meanwhile.
                seconds, per = login_wait(request, key=key)
        seconds = max(seconds, 1)
        services.login_failure_record(
            email=_login(credentials),
            ip=self.get_client_ip(request),
            reason="throttled_address" if per == "ip" else "throttled_account",
            wait_seconds=seconds,
        )
        request.sesame_retry_after = seconds  # type: ignore[attr-defined]
        if per == "ip":
            message = _(
                "Too many failed sign-ins from your network address. Try again in %(wait)s."
            )
        else:
            message = _("Too many failed sign-ins for this account. Try again in %(wait)s.")
        raise forms.ValidationError(message % {"wait": wait_text(seconds)}, code=TOO_MANY)

    def authentication_failed(self, request: HttpRequest, **credentials: Any) -> None:
        services.login_failure_record(
            email=_login(credentials), ip=self.get_client_ip(request), reason="password"
        )


def _login(credentials: dict[str, Any]) -> str:
    return str(credentials.get("email") or credentials.get("username") or "")
