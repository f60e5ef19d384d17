"""The GUN rule engine: pure Python, no Django, no database, no I/O.

The service layer builds a ``Declaration``, passes a ``lookup`` reaching the partner systems,
and turns the messages into an ``Outcome`` for the stage at hand.
"""

from gun.engine.messages import Message
from gun.engine.mrn import is_valid_mrn, make_mrn, mrn_check_character
from gun.engine.outcome import FORCING_MENTION, Outcome, OutcomeCode, Stage, decide
from gun.engine.profiles import PROFILES, DocumentProfile, Partner, profile_for
from gun.engine.rules import NEVER_PASSIVE, RULES, Rule, rule_for
from gun.engine.runner import CheckMode, run_checks
from gun.engine.types import (
    Declaration,
    DocumentKey,
    DocumentRef,
    Imputation,
    Item,
    Lookup,
    PartnerDocument,
    PartnerLine,
    PartnerUnavailable,
)

__all__ = [
    "FORCING_MENTION",
    "NEVER_PASSIVE",
    "PROFILES",
    "RULES",
    "CheckMode",
    "Declaration",
    "DocumentKey",
    "DocumentProfile",
    "DocumentRef",
    "Imputation",
    "Item",
    "Lookup",
    "Message",
    "Outcome",
    "OutcomeCode",
    "Partner",
    "PartnerDocument",
    "PartnerLine",
    "PartnerUnavailable",
    "Rule",
    "Stage",
    "decide",
    "is_valid_mrn",
    "make_mrn",
    "mrn_check_character",
    "profile_for",
    "rule_for",
    "run_checks",
]
