"""Tests of the clinician summary rendered from the flow definition."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from flows.engine.records.record import RaisedFlag, ReviewRecord, duration_words
from flows.engine.records.summary import (
    TELEGRAM_LIMIT,
    card_text,
    render_full_answers,
    render_summary,
    split_text,
)
from tests.flows.sample_flow import sample_answers, sample_flow

QUEUED = datetime(2026, 11, 25, 18, 30, tzinfo=UTC)


def record(priority: str = "routine", *flags: RaisedFlag, status: str = "pending") -> ReviewRecord:
    """A review record of the sample flow."""
    return ReviewRecord(
        item_id=7,
        intake_id=11,
        priority=priority,
        status=status,
        red_flags=flags,
        flow_id="sample",
        flow_version=3,
        intake_status="completed",
        queued_at=QUEUED,
        started_at=datetime(2026, 11, 25, 18, 0, tzinfo=UTC),
        ended_at=datetime(2026, 11, 25, 18, 29, tzinfo=UTC),
        telegram_user_id=4242,
        display_name="Ann Example",
        username="ann_e",
    )


@pytest.mark.parametrize(
    ("priority", "flags", "first_line"),
    [
        ("emergency", (RaisedFlag("vomit_blood", "emergency"),), "EMERGENCY"),
        ("same_day", (RaisedFlag("nsaid_flag", "same_day"),), "SAME DAY"),
        ("soon", (RaisedFlag("family_history", "soon"),), "SEE A DOCTOR SOON"),
        ("routine", (), "ROUTINE"),
    ],
)
def test_first_line_is_priority_in_words_then_flags(
    priority: str, flags: tuple[RaisedFlag, ...], first_line: str
) -> None:
    """Every priority opens the summary in words, followed by the raised flags with levels."""
    flow = sample_flow()
    text = render_summary(flow, record(priority, *flags), sample_answers())
    lines = text.splitlines()
    assert lines[0].startswith(first_line + " ·")
    if flags:
        label = flow.text(flow.flag(flags[0].id).label)
        assert lines[2] == "Red flags raised:"
        assert lines[3] == f"• {first_line}: {label}"
    else:
        assert lines[2] == "Red flags: none raised"


def test_flags_at_several_levels_keep_their_own_level() -> None:
    """Flags are listed most urgent first, each with the level it was raised at."""
    flags = (
        RaisedFlag("family_history", "soon"),
        RaisedFlag("vomit_blood", "emergency"),
        RaisedFlag("nsaid_flag", "same_day"),
    )
    text = render_summary(sample_flow(), record("emergency", *flags), sample_answers())
    assert text.splitlines()[3:6] == [
        "• EMERGENCY: Vomiting blood",
        "• SAME DAY: Bleeding on NSAIDs",
        "• SEE A DOCTOR SOON: Family history with symptoms",
    ]


def test_sections_use_labels_not_ids_or_values() -> None:
    """Answers appear under the flow's section titles with question and option labels."""
    text = render_summary(sample_flow(), record(), sample_answers())
    assert "SYMPTOMS\nDigestive symptoms: Bloating, Diarrhoea" in text
    assert "Bloating: how bad: 7/10\nBloating: how often: Every day" in text
    assert "MAIN CONCERN\nMain concern: Bloating after every meal\nHow long: 3 weeks" in text
    assert "KNOWN DIAGNOSES AND FAMILY HISTORY\nFamily history: Coeliac disease" in text
    assert "EXPOSURES\nNSAIDs: yes" in text
    assert "GOALS\nWhat do you hope for?: Understand what is going on" in text
    assert "Age: 52 years" in text
    for step_id in ("gi_symptoms", "bloating_frequency", "concern_duration", ": daily"):
        assert step_id not in text


def test_sections_follow_the_flow_order() -> None:
    """Section blocks come in the order the flow lists its sections."""
    text = render_summary(sample_flow(), record(), sample_answers())
    titles = ["MAIN CONCERN", "SYMPTOMS", "EXPOSURES", "KNOWN DIAGNOSES", "GOALS"]
    positions = [text.index(t) for t in titles]
    assert positions == sorted(positions)


def test_workup_hints_only_when_their_condition_holds() -> None:
    """Hints are listed with reasons, marked for the clinician, and only when they apply."""
    answers = sample_answers()
    text = render_summary(sample_flow(), record(), answers)
    assert "for the clinician" in text
    assert "• Comprehensive stool panel: matched Digestive symptoms: Bloating, Diarrhoea" in text
    assert "(Diarrhoea reported: check calprotectin.)" in text
    answers["gi_symptoms"] = ["bloating"]
    answers["family_history"] = ["none"]
    quiet = render_summary(sample_flow(), record(), answers)
    assert "Workup hints" not in quiet
    assert "stool panel" not in quiet


def test_provenance_names_flow_times_and_patient() -> None:
    """The footer names the flow version, the timestamps and the patient's Telegram identity."""
    text = render_summary(sample_flow(), record(), sample_answers())
    assert "Flow sample v3 · intake completed" in text
    assert "Started 2026-11-25 18:00 UTC · ended 2026-11-25 18:29 UTC" in text
    assert "queued 2026-11-25 18:30 UTC" in text
    assert "Patient: Ann Example (@ann_e) · Telegram id 4242" in text


def test_status_shows_claim_and_review() -> None:
    """The summary ends with who claimed it and when it was reviewed."""
    at = datetime(2026, 11, 25, 19, 5, tzinfo=UTC)
    claimed = replace(record(), status="claimed", claimed_by="Dr Lee", claimed_at=at)
    assert render_summary(sample_flow(), claimed, {}).endswith(
        "Claimed by Dr Lee at 2026-11-25 19:05 UTC"
    )
    reviewed = replace(claimed, status="reviewed", reviewed_at=at, note="booked")
    assert render_summary(sample_flow(), reviewed, {}).endswith(
        "Reviewed by Dr Lee at 2026-11-25 19:05 UTC\nNote: booked"
    )


def test_full_answers_lists_every_answer_in_flow_order() -> None:
    """The Full answers text has one labelled line per answer, in the flow's step order."""
    text = render_full_answers(sample_flow(), record(), sample_answers())
    lines = text.splitlines()
    assert lines[1:4] == ["Consent: I agree", "Age: 52 years", "Vomited blood: no"]
    assert len(lines) == 1 + len(sample_answers())


@pytest.mark.parametrize(
    ("days", "words"),
    [(1, "1 day"), (5, "5 days"), (21, "3 weeks"), (60, "2 months"), (730, "2 years")],
)
def test_durations_in_words(days: int, words: str) -> None:
    """Durations stored as days are shown in the largest whole unit."""
    assert duration_words(days) == words


def test_odd_durations_are_approximated() -> None:
    """Days that are no whole unit keep the exact count with an approximation."""
    assert duration_words(45) == "45 days (about 6 weeks)"
    assert duration_words(100) == "100 days (about 3 months)"


def test_split_text_respects_the_limit_and_keeps_every_line() -> None:
    """Long texts are cut at line breaks into pieces under the limit, losing nothing."""
    text = "\n".join(f"line {i} " + "x" * (i % 50) for i in range(400))
    pieces = split_text(text, 1000)
    assert all(len(p) <= 1000 for p in pieces)
    assert "\n".join(pieces) == text
    assert len(pieces) > 1


def test_split_text_cuts_a_single_overlong_line() -> None:
    """A line longer than the limit is cut into limit-sized pieces."""
    pieces = split_text("a" * 2500, 1000)
    assert [len(p) for p in pieces] == [1000, 1000, 500]


def test_card_fits_one_telegram_message() -> None:
    """A very long summary becomes one message under 4096 characters pointing at Full answers."""
    answers = sample_answers()
    answers["main_concern"] = "word " * 1000
    answers["goals"] = "hope " * 1000
    summary = render_summary(sample_flow(), record(), answers)
    assert len(summary) > TELEGRAM_LIMIT
    card = card_text(summary)
    assert len(card) <= TELEGRAM_LIMIT
    assert card.startswith("ROUTINE")
    assert card.endswith("press Full answers for everything)")
    short = render_summary(sample_flow(), record(), sample_answers())
    assert card_text(short) == short


def test_limits_count_utf16_units_like_telegram() -> None:
    """Characters outside the BMP count twice, as Telegram counts them."""
    pieces = split_text("😀" * 30, 20)
    assert [len(p) for p in pieces] == [10, 10, 10]
    assert "".join(pieces) == "😀" * 30


def test_split_text_keeps_leading_and_blank_lines() -> None:
    """Empty lines survive a split exactly."""
    text = "\n\nab\n\n" + "c" * 8 + "\n\n" + "d" * 9 + "\n"
    assert "\n".join(split_text(text, 10)) == text
