"""Reads of GUN data, shared by the API, the pages and the tasks."""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connection, transaction
from django.db.models import Prefetch, QuerySet
from django.db.models.signals import post_delete, post_migrate, post_save

from gun.models import (
    CheckMode,
    Control,
    Declaration,
    DeclarationItem,
    GunMessage,
    GunRun,
    ItemDocument,
    LedgerEntry,
    PartnerDocument,
    PartnerLink,
    PropagationState,
)
from sesame.models import Company
from sesame.prepared import Prepared, named


def _with_details(queryset: QuerySet[Declaration]) -> QuerySet[Declaration]:
    """Everything a declaration response shows, in a constant number of queries."""
    return queryset.select_related("post", "last_run", "company").prefetch_related(
        Prefetch("items", queryset=DeclarationItem.objects.prefetch_related("documents")),
        Prefetch("last_run__messages", queryset=GunMessage.objects.order_by("order")),
    )


def declarations_for_company(
    *,
    company: Any,
    status: str | None = None,
    mrn: str | None = None,
    control_required: bool | None = None,
) -> QuerySet[Declaration]:
    """The company's declarations, newest first, with optional filters."""
    queryset = Declaration.objects.filter(company=company)
    if status:
        queryset = queryset.filter(status=status)
    if mrn:
        queryset = queryset.filter(mrn=mrn)
    if control_required is not None:
        queryset = queryset.filter(control_required=control_required)
    return _with_details(queryset.order_by("-created_at", "-pk"))


def declaration_get(*, pk: Any, company: Any = None) -> Declaration | None:
    """One declaration with its details; None when absent or of another company."""
    queryset = Declaration.objects.filter(pk=pk)
    if company is not None:
        queryset = queryset.filter(company=company)
    return _with_details(queryset).first()


ITEM_FIELDS = ("id", "item_number", "commodity_code", "origin_country", "net_mass_kg")
DOCUMENT_FIELDS = (
    "code",
    "reference",
    "date",
    "has_imputation",
    "imputation_line_number",
    "imputation_product_reference",
    "imputation_trade_name",
    "imputation_quantity",
    "imputation_unit",
    "imputation_provisional_weight",
    "imputation_weight_unit",
    "imputation_amount",
    "imputation_currency",
    "imputation_net_mass_kg",
)


def declaration_content(*, declaration_id: Any) -> list[dict[str, Any]]:
    """The declaration's items, each with ``documents`` (box 44 with the imputation sheet), as
    plain dicts in item then document order: one query (items LEFT JOIN documents)."""
    with connection.cursor() as cursor:
        cursor.execute(_CONTENT_SQL, [declaration_id])
        return _content(cursor.fetchall())


def _content(rows: list[tuple]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    width = len(ITEM_FIELDS)
    for row in rows:
        if not items or items[-1]["id"] != row[0]:
            items.append({**dict(zip(ITEM_FIELDS, row[:width], strict=True)), "documents": []})
        if row[width] is not None:
            items[-1]["documents"].append(dict(zip(DOCUMENT_FIELDS, row[width + 1 :], strict=True)))
    return items


_CONTENT_COLUMNS = ", ".join(
    [f"i.{DeclarationItem._meta.get_field(f).column}" for f in ITEM_FIELDS]
    + ["d.id"]
    + [f"d.{ItemDocument._meta.get_field(f).column}" for f in DOCUMENT_FIELDS]
)
_CONTENT_ORDER = "ORDER BY i.item_number, i.id, d.position, d.id"
_CONTENT_SQL = (
    f"SELECT {_CONTENT_COLUMNS} FROM {DeclarationItem._meta.db_table} i "  # noqa: S608
    f"LEFT JOIN {ItemDocument._meta.db_table} d ON d.item_id = i.id "
    f"WHERE i.declaration_id = %s {_CONTENT_ORDER}"
)


def declaration_with_content(
    *, pk: Any, company: Any
) -> tuple[Declaration | None, list[dict[str, Any]]]:
    """The declaration row, None when absent or of another company, and its content as
    ``declaration_content``, in one prepared statement (the row LEFT JOIN items LEFT JOIN
    documents): what a validation reads before taking any lock. ``company`` (an instance) is
    attached without a query."""
    company_id = getattr(company, "pk", company)
    with connection.cursor() as cursor:
        cursor.execute(_with_content_statement().ensure(), [pk, company_id])
        rows = cursor.fetchall()
    if not rows:
        return None, []
    width = len(DECLARATION_NAMES)
    declaration = Declaration.from_db(DEFAULT_DB_ALIAS, DECLARATION_NAMES, rows[0][:width])
    if isinstance(company, Company):
        declaration.company = company
    return declaration, _content([row[width:] for row in rows if row[width] is not None])


DECLARATION_NAMES = [f.attname for f in Declaration._meta.concrete_fields]


@functools.cache
def _with_content_statement() -> Prepared:
    declaration_columns = ", ".join(f"x.{f.column}" for f in Declaration._meta.concrete_fields)
    body = (
        f"SELECT {declaration_columns}, {_CONTENT_COLUMNS} "  # noqa: S608
        f"FROM {Declaration._meta.db_table} x "
        f"LEFT JOIN {DeclarationItem._meta.db_table} i ON i.declaration_id = x.id "
        f"LEFT JOIN {ItemDocument._meta.db_table} d ON d.item_id = i.id "
        f"WHERE x.id = $1 AND x.company_id = $2 {_CONTENT_ORDER}"
    )
    return named("gun_declaration_content", body, ["uuid", "bigint"])


def declaration_runs(*, declaration: Declaration) -> QuerySet[GunRun]:
    """Every GUN run of a declaration, newest first, with its messages."""
    return declaration.runs.order_by("-id").prefetch_related(
        Prefetch("messages", queryset=GunMessage.objects.order_by("order"))
    )


def declaration_ledger(*, declaration: Declaration) -> QuerySet[LedgerEntry]:
    """The declaration's ledger entries in order."""
    return declaration.ledger_entries.order_by("id")


def review_queue() -> QuerySet[Declaration]:
    """Validated declarations awaiting an agent's control decision, oldest first."""
    return _with_details(
        Declaration.objects.filter(status="validated", control_status="open").order_by(
            "validated_at", "pk"
        )
    )


def control_open(*, declaration: Declaration) -> Control | None:
    return declaration.controls.filter(decision="open").first()


def partner_document_get(*, code: str, reference: str) -> PartnerDocument | None:
    """A published document with its lines (and their balances)."""
    return (
        PartnerDocument.objects.filter(code=code, reference=reference)
        .prefetch_related("lines")
        .first()
    )


def partner_links() -> list[dict[str, Any]]:
    """Each GUN partner's link state and its number of undelivered ledger entries."""
    from django.db.models import Count

    links = {link.partner: link for link in PartnerLink.objects.all()}
    pending = dict(
        LedgerEntry.objects.filter(state=PropagationState.PENDING)
        .values_list("partner")
        .annotate(n=Count("id"))
        .values_list("partner", "n")
    )
    from gun.models import GunPartner

    return [
        {
            "partner": partner,
            "kind": links[partner].kind if partner in links else "local",
            "up": links[partner].up if partner in links else True,
            "since": links[partner].since if partner in links else None,
            "pending": pending.get(partner, 0),
        }
        for partner in GunPartner.values
    ]


# --- rarely-changing configuration, cached per process --------------------------------------
#
# Check modes and partner links are read by every GUN run but change a few times a year. Each
# process keeps its copy, stamped with a version held in the cache (Redis): a change to a
# CheckMode or PartnerLink row (``save``/``delete``, the services and the admin included) drops
# this process's copies at once and bumps the version after commit, so every other process
# reloads at its next read. A copy lives CONFIG_TTL seconds at most (a bulk ``update()`` that
# sends no signal is seen after that). Copies are filled only outside any transaction, where
# what is read is committed: a read inside a transaction (it could roll back, or see its own
# uncommitted change) always goes to the database.

T = TypeVar("T")
CONFIG_TTL = 5.0
CONFIG_VERSION_KEY = "gun:config-version"
VERSION_POLL = 0.25  # seconds: how stale another process's change may be seen
_config: dict[str, tuple[Any, float, Any]] = {}  # name -> (version, expires, value)
_config_guard = threading.Lock()
logger = logging.getLogger(__name__)


_version_seen: list[Any] = [None, 0.0]  # [version, when read (monotonic)]


def _config_version() -> Any:
    """The configuration version, read from the cache at most every VERSION_POLL seconds."""
    now = time.monotonic()
    if _version_seen[0] is not None and now - _version_seen[1] < VERSION_POLL:
        return _version_seen[0]
    try:
        version = cache.get(CONFIG_VERSION_KEY, 0)
    except Exception:  # the cache down must not stop the GUN: read the database
        logger.warning("GUN configuration version unreadable; reading the database")
        return None
    _version_seen[:] = [version, now]
    return version


def config_cached(name: str, load: Callable[[], T]) -> T:
    """``load()``, or this process's copy of it while the configuration version is unchanged
    and the copy younger than CONFIG_TTL; inside a transaction, always ``load()``."""
    if connection.in_atomic_block:
        return load()
    version = _config_version()
    if version is None:
        return load()
    now = time.monotonic()
    hit = _config.get(name)
    if hit is not None and hit[0] == version and hit[1] > now:
        return hit[2]
    value = load()  # read after the version: a change committed meanwhile bumps it again
    with _config_guard:
        _config[name] = (version, now + CONFIG_TTL, value)
    return value


def _config_bump() -> None:
    with _config_guard:
        _config.clear()
        _version_seen[:] = [None, 0.0]
    try:
        cache.incr(CONFIG_VERSION_KEY)
    except ValueError:
        cache.add(CONFIG_VERSION_KEY, 1, timeout=None)
    except Exception:  # the cache down: copies expire within the TTL
        logger.warning("GUN configuration version not bumped; copies expire within the TTL")


def config_changed(**_: Any) -> None:
    """Check modes or partner links changed: drop this process's copies now, and make every
    process reload once the change is committed."""
    with _config_guard:
        _config.clear()
        _version_seen[:] = [None, 0.0]
    transaction.on_commit(_config_bump)


for _model in (CheckMode, PartnerLink):
    post_save.connect(config_changed, sender=_model, dispatch_uid=f"gun-config-{_model.__name__}")
    post_delete.connect(
        config_changed, sender=_model, dispatch_uid=f"gun-config-del-{_model.__name__}"
    )
# A database flushed (tests) or migrated: nothing cached from before can be trusted.
post_migrate.connect(lambda **_: _config_bump(), dispatch_uid="gun-config-flush", weak=False)


def declaration_version_locked(*, pk: Any, company: Any = None) -> int | None:
    """The declaration's ``version``, its row locked FOR UPDATE until the transaction ends (the
    API's If-Match); None when it does not exist or, given ``company``, is not that company's."""
    declarations = Declaration.objects.select_for_update(of=("self",)).filter(pk=pk)
    if company is not None:
        declarations = declarations.filter(company=company)
    return declarations.values_list("version", flat=True).first()


def partner_document_version_locked(*, code: str, reference: str) -> tuple[str, int] | None:
    """(partner, version) of a partner document, its row locked FOR UPDATE until the
    transaction ends (the API's If-Match); None when it does not exist."""
    found = (
        PartnerDocument.objects.select_for_update()
        .filter(code=code, reference=reference)
        .values_list("partner", "version")
        .first()
    )
    return None if found is None else (str(found[0]), int(found[1]))
