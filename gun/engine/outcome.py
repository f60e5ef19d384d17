"""What a GUN run means at each stage (GUN_RULES §1, §4), including special mention 73000."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Literal

from gun.engine.messages import Message

Stage = Literal["anticipation", "validation", "rectification"]
OutcomeCode = Literal["informative", "accepted", "accepted_with_control", "rejected"]
STAGES: tuple[Stage, ...] = ("anticipation", "validation", "rectification")
FORCING_MENTION = "73000"


@dataclass(frozen=True)
class Outcome:
    """The decision for one GUN run; ``control_required`` only when 73000 forced validation."""

    stage: Stage
    outcome: OutcomeCode
    control_required: bool = False

    @property
    def rejected(self) -> bool:
        return self.outcome == "rejected"


def decide(
    *, stage: Stage, messages: Iterable[Message], special_mentions: Collection[str]
) -> Outcome:
    """Decide the outcome of a run at ``stage``; passive messages never count.

    anticipation: always informative. validation: accepted without live message; with live
    messages, accepted_with_control when all are forceable and 73000 is present, else rejected.
    rectification: rejected on any live message (73000 has no effect), else accepted.
    """
    if stage not in STAGES:
        raise ValueError(f"GUN stage must be one of {STAGES}, not {stage!r}")
    live = [message for message in messages if not message.passive]
    if stage == "anticipation":
        return Outcome(stage=stage, outcome="informative")
    if not live:
        return Outcome(stage=stage, outcome="accepted")  # 73000 without message changes nothing
    if (
        stage == "validation"
        and FORCING_MENTION in special_mentions
        and all(message.forceable for message in live)
    ):
        return Outcome(stage=stage, outcome="accepted_with_control", control_required=True)
    return Outcome(stage=stage, outcome="rejected")
