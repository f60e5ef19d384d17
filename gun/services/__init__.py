"""GUN use cases. Every function is keyword-only, one transaction, and says what it guarantees.

Declaration payload (``data``), as validated by ``gun.api.serializers.DeclarationInput``:
``client_reference``, ``importer_eori``, ``special_mentions`` (list), ``post`` (a
BorderControlPost or None), ``items``: [{``item_number``, ``commodity_code``,
``origin_country``, ``net_mass_kg`` (Decimal), ``documents``: [{``code``, ``reference``,
``date``, ``imputation``: None or {``line``, ``product_reference``, ``trade_name``,
``quantity``, ``unit``, ``provisional_weight``, ``weight_unit``, ``amount``, ``currency``,
``net_mass_kg``}}]}].
"""

from gun.errors import (
    GunBusy,
    GunConflict,
    GunError,
    GunForbidden,
    GunInvalid,
    StatusConflict,
)
from gun.services.controls import check_mode_set, control_decide, partner_link_set
from gun.services.declarations import (
    GunResult,
    declaration_cancel,
    declaration_rectify,
    declaration_register,
    declaration_release,
    declaration_replace,
    declaration_validate,
)
from gun.services.mandates import mandate_grant, mandate_require, mandate_revoke
from gun.services.partner_documents import partner_document_publish

__all__ = [
    "GunBusy",
    "GunConflict",
    "GunError",
    "GunForbidden",
    "GunInvalid",
    "GunResult",
    "StatusConflict",
    "check_mode_set",
    "control_decide",
    "declaration_cancel",
    "declaration_rectify",
    "declaration_register",
    "declaration_release",
    "declaration_replace",
    "declaration_validate",
    "mandate_grant",
    "mandate_require",
    "mandate_revoke",
    "partner_document_publish",
    "partner_link_set",
]
