"""How the GUN reaches partner systems (GUN_RULES §6): one adapter per link kind.

``adapter_for(partner)`` reads the partner's ``PartnerLink`` (none: ``local``) and returns an
adapter with ``lookup(keys, declaration_id)`` and ``send(entry)``. Any failure is
``PartnerUnavailable`` (T001 for lookups, a retry for propagation).
"""

from gun.adapters.base import Adapter, PartnerRefused
from gun.adapters.registry import ADAPTERS, adapter_for, adapters_for

__all__ = ["ADAPTERS", "Adapter", "PartnerRefused", "adapter_for", "adapters_for"]
