"""Where a webhook may be sent: no private, loopback, link-local or otherwise non-public address
(server-side request forgery), checked when a URL is subscribed and again before each round of
calls, against the addresses the name resolves to then, and the call made to that very address
(a name that rebinds to an internal address after the check is never followed).

``WEBHOOK_ALLOW_PRIVATE_URLS`` (development and tests) lets non-public addresses through;
``WEBHOOK_HTTPS_ONLY`` (on unless SESAME_DEV) refuses plain http. No credentials in URLs;
redirects are never followed (``notifications.webhooks.transport``).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeDestination(Exception):
    """A URL a webhook may not be sent to; ``code`` says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Destination:
    scheme: str
    host: str
    port: int
    target: str  # path and query
    address: str  # the checked address the call goes to

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


def is_public(address: IPAddress) -> bool:
    """Globally routable unicast: not private, loopback, link-local, shared (CGN), reserved,
    multicast or unspecified; an IPv4-mapped IPv6 address is judged as its IPv4 address."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def _parse(url: str) -> tuple[str, str, int, str]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeDestination("invalid_url", _("This is not a valid URL.")) from None
    scheme = parts.scheme.lower()
    https_only = getattr(settings, "WEBHOOK_HTTPS_ONLY", True)
    if scheme != "https" and (https_only or scheme != "http"):
        message = (
            _("The URL must use https.") if https_only else _("The URL must use http or https.")
        )
        raise UnsafeDestination("scheme_not_allowed", message)
    if parts.username is not None or parts.password is not None:
        raise UnsafeDestination("credentials_in_url", _("Credentials in the URL are not allowed."))
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnsafeDestination("invalid_url", _("The URL has no host."))
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return scheme, host, port or (443 if scheme == "https" else 80), target


def resolve(url: str) -> Destination:
    """The destination of ``url`` with the address to call, or UnsafeDestination."""
    scheme, host, port, target = _parse(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UnsafeDestination(
            "unresolvable_host", _("%(host)s does not resolve.") % {"host": host}
        ) from None
    addresses = []
    for info in infos:
        try:
            addresses.append(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]))
        except ValueError:
            continue
    if not addresses:
        raise UnsafeDestination(
            "unresolvable_host", _("%(host)s does not resolve.") % {"host": host}
        )
    allow_private = getattr(settings, "WEBHOOK_ALLOW_PRIVATE_URLS", False)
    refused = [address for address in addresses if not is_public(address)]
    if refused and not allow_private:
        # Every address must be public: a name with one internal address is refused whole.
        raise UnsafeDestination(
            "address_not_allowed",
            _(
                "%(host)s resolves to %(address)s, a private, loopback, link-local or reserved "
                "address: webhooks go to public addresses only."
            )
            % {"host": host, "address": refused[0]},
        )
    return Destination(scheme, host, port, target, str(addresses[0]))
