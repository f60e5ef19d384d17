"""Stage outcomes and special mention 73000 (GUN_RULES §1, §4)."""

from __future__ import annotations

import pytest

from gun.engine import Message, decide


def messages(*codes: str, passive: bool = False) -> list[Message]:
    return [Message(code=code, item=1, passive=passive) for code in codes]


NONE: tuple[str, ...] = ()
FORCE = frozenset({"73000"})
NO_MENTION: frozenset[str] = frozenset()


@pytest.mark.parametrize(
    ("stage", "codes", "mentions", "outcome", "control_required"),
    [
        # anticipation: always informative
        pytest.param("anticipation", NONE, NO_MENTION, "informative", False, id="antic_none"),
        pytest.param("anticipation", ("F033",), NO_MENTION, "informative", False, id="antic_msg"),
        pytest.param("anticipation", ("T001",), FORCE, "informative", False, id="antic_73000"),
        # validation
        pytest.param("validation", NONE, NO_MENTION, "accepted", False, id="valid_none"),
        pytest.param("validation", NONE, FORCE, "accepted", False, id="valid_none_73000"),
        pytest.param("validation", ("T001",), NO_MENTION, "rejected", False, id="valid_t001"),
        pytest.param(
            "validation", ("T001",), FORCE, "accepted_with_control", True, id="valid_t001_73000"
        ),
        pytest.param(
            "validation", ("F001",), FORCE, "accepted_with_control", True, id="valid_f001_73000"
        ),
        pytest.param(
            "validation", ("F032",), FORCE, "accepted_with_control", True, id="valid_f032_73000"
        ),
        pytest.param(
            "validation",
            ("T001", "F001", "F032"),
            FORCE,
            "accepted_with_control",
            True,
            id="valid_all_forceable_73000",
        ),
        pytest.param(
            "validation", ("F032", "F046"), FORCE, "rejected", False, id="valid_mixed_73000"
        ),
        pytest.param("validation", ("F033",), FORCE, "rejected", False, id="valid_f033_73000"),
        pytest.param("validation", ("F048",), NO_MENTION, "rejected", False, id="valid_f048"),
        # rectification: 73000 has no effect
        pytest.param("rectification", NONE, NO_MENTION, "accepted", False, id="rect_none"),
        pytest.param("rectification", NONE, FORCE, "accepted", False, id="rect_none_73000"),
        pytest.param("rectification", ("T001",), FORCE, "rejected", False, id="rect_t001_73000"),
        pytest.param("rectification", ("F001",), FORCE, "rejected", False, id="rect_f001_73000"),
        pytest.param("rectification", ("F022",), NO_MENTION, "rejected", False, id="rect_f022"),
    ],
)
def test_73000_matrix(
    stage: str,
    codes: tuple[str, ...],
    mentions: frozenset[str],
    outcome: str,
    control_required: bool,
) -> None:
    decision = decide(stage=stage, messages=messages(*codes), special_mentions=mentions)  # type: ignore[arg-type]
    assert (decision.stage, decision.outcome, decision.control_required) == (
        stage,
        outcome,
        control_required,
    )
    assert decision.rejected is (outcome == "rejected")


@pytest.mark.parametrize("stage", ["validation", "rectification"])
def test_passive_messages_never_block(stage: str) -> None:
    decision = decide(
        stage=stage,  # type: ignore[arg-type]
        messages=messages("F033", "F048", passive=True),
        special_mentions=NO_MENTION,
    )
    assert (decision.outcome, decision.control_required) == ("accepted", False)


def test_passive_non_forceable_message_does_not_spoil_forcing() -> None:
    decision = decide(
        stage="validation",
        messages=[*messages("T001"), *messages("F033", passive=True)],
        special_mentions=FORCE,
    )
    assert (decision.outcome, decision.control_required) == ("accepted_with_control", True)


def test_unknown_stage_is_refused() -> None:
    with pytest.raises(ValueError):
        decide(stage="release", messages=[], special_mentions=NO_MENTION)  # type: ignore[arg-type]
