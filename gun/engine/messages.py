"""The message the engine emits: a code of the rule book (``gun.engine.rules``) and where it
applies."""

from __future__ import annotations

from dataclasses import dataclass

from gun.engine.rules import RULES, Rule


@dataclass(frozen=True)
class Message:
    """One GUN message.

    ``document_index`` is the 0-based position of the document in the item's documents
    (None for F048, which names the item only). A passive message is recorded, never blocking.
    """

    code: str
    item: int
    document_code: str | None = None
    reference: str | None = None
    document_index: int | None = None
    passive: bool = False

    def __post_init__(self) -> None:
        if self.code not in RULES:
            raise ValueError(f"unknown GUN message code {self.code!r}")

    @property
    def rule(self) -> Rule:
        return RULES[self.code]

    @property
    def label(self) -> str:
        return self.rule.label_fr

    @property
    def label_en(self) -> str:
        return self.rule.label_en

    @property
    def forceable(self) -> bool:
        return self.rule.forceable

    @property
    def sort_key(self) -> tuple[int, bool, int, str]:
        """GUN_RULES §3: by item, then document line (item-level messages last), then code."""
        index = self.document_index
        return (self.item, index is None, index if index is not None else 0, self.code)
