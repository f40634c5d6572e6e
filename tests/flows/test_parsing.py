"""Parsing of typed answers for every answer kind, bad input included, and `describe` round trips.

Steps are built here with known labels; messages come from the bundled flow, so a rejection is
checked to carry the flow's own re-ask text.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from flows.engine.conversation.parsing import (
    Accepted,
    Rejected,
    describe,
    match_option,
    parse,
    parse_duration,
)
from flows.engine.format.model import Flow
from flows.engine.format.steps import Step
from flows.engine.loading.loader import LoadedFlow


@pytest.fixture(scope="module")
def flow(bundled_flow: LoadedFlow) -> Flow:
    """The bundled flow (for its messages and its real option labels)."""
    return bundled_flow.flow


def step(answer: dict[str, Any]) -> Step:
    """A step with this answer spec."""
    return Step.model_validate({"prompt": "?", "answer": answer})


def options(*labels: str) -> list[dict[str, str]]:
    """Options whose values are the labels in snake case."""
    return [{"value": label.lower().replace(" ", "_"), "label": label} for label in labels]


AGE = step({"kind": "number", "min": 16, "max": 110, "unit": "years"})
PAIN = step({"kind": "choice", "options": options("Bloating", "Belly pain", "Back pain")})
SYMPTOMS = step(
    {
        "kind": "multi",
        "options": [*options("Bloating", "Belly pain", "Nausea", "None")],
        "none": "none",
    }
)
SCALE = step({"kind": "scale", "low": "none", "high": "worst"})
YES_NO = step({"kind": "yes_no"})
NOTE = step({"kind": "text", "max_length": 20})
SINCE = step({"kind": "duration", "max_days": 3650})


@pytest.mark.parametrize(
    ("text", "value"),
    [("34", 34), ("16", 16), ("110", 110), ("34 years", 34), ("34 years old", 34)],
)
def test_number_in_range_is_accepted(flow: Flow, text: str, value: int) -> None:
    """A whole number within min..max is accepted, with or without its unit."""
    assert parse(AGE, text, flow) == Accepted(value)


@pytest.mark.parametrize("text", ["15", "111", "-5", "abc", "forty", "3.5", "", "34 or 35"])
def test_number_out_of_range_or_not_a_number_asks_again(flow: Flow, text: str) -> None:
    """Out of range or not a whole number: rejected with the range in the reason."""
    assert parse(AGE, text, flow) == Rejected(flow.message("invalid_number", min=16, max=110))


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2", "belly_pain"),  # by number
        ("back_pain", "back_pain"),  # by value
        ("back pain", "back_pain"),  # by value with spaces
        ("BELLY PAIN", "belly_pain"),  # by label, any case
        ("bloat", "bloating"),  # a unique label start
        ("  Back pain! ", "back_pain"),  # surrounding spaces and punctuation
    ],
)
def test_choice_by_number_value_label_or_unique_start(flow: Flow, text: str, value: str) -> None:
    """A choice is named by its number, value, label or a unique label start."""
    assert parse(PAIN, text, flow) == Accepted(value)


@pytest.mark.parametrize("text", ["0", "4", "b", "pain", "be", "headache", ""])
def test_unknown_or_ambiguous_choice_asks_again(flow: Flow, text: str) -> None:
    """An unknown number or word, a too short or ambiguous start: rejected."""
    assert parse(PAIN, text, flow) == Rejected(flow.message("invalid_choice"))


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1, 3", ["bloating", "nausea"]),
        ("3,1", ["bloating", "nausea"]),  # stored in option order
        ("belly pain and bloating", ["bloating", "belly_pain"]),
        ("2; nausea & 2", ["belly_pain", "nausea"]),  # repeats count once
        ("None", ["none"]),
    ],
)
def test_multi_by_numbers_and_labels(flow: Flow, text: str, value: list[str]) -> None:
    """Multi-select takes numbers and labels separated by commas, 'and', ';', '&'."""
    assert parse(SYMPTOMS, text, flow) == Accepted(value)


def test_multi_none_with_other_options_is_rejected(flow: Flow) -> None:
    """The exclusive 'none' cannot be combined with other options."""
    assert parse(SYMPTOMS, "1, 4", flow) == Rejected(flow.message("invalid_multi_none"))
    assert parse(SYMPTOMS, "none and nausea", flow) == Rejected(flow.message("invalid_multi_none"))


@pytest.mark.parametrize("text", ["", "1, 9", "bloating, headache", ", ,"])
def test_multi_unknown_or_empty_is_rejected(flow: Flow, text: str) -> None:
    """Any unknown part, or nothing at all, rejects the whole multi-select answer."""
    assert parse(SYMPTOMS, text, flow) == Rejected(flow.message("invalid_multi"))


def test_multi_labels_holding_commas_and_and_are_understood(flow: Flow) -> None:
    """A typed label that itself holds ',' or 'and' names its option, alone or in a list."""
    urgent = flow.steps["urgent_now"]
    typed = "Black or bloody poo, and dizzy or faint, Diabetes and can't stop vomiting"
    assert parse(urgent, typed, flow) == Accepted(["black_stool_faint", "diabetes_vomiting"])


@pytest.mark.parametrize(
    ("text", "value"), [("0", 0), ("10", 10), ("7/10", 7), ("7 / 10", 7), ("7 out of 10", 7)]
)
def test_scale_accepts_0_to_10_and_out_of_ten(flow: Flow, text: str, value: int) -> None:
    """A scale answer is 0..10, also written as 'n/10'."""
    assert parse(SCALE, text, flow) == Accepted(value)


@pytest.mark.parametrize("text", ["11", "-1", "seven", "7/5", "", "5.5"])
def test_scale_out_of_range_asks_again(flow: Flow, text: str) -> None:
    """Anything but a whole number 0..10 is rejected."""
    assert parse(SCALE, text, flow) == Rejected(flow.message("invalid_scale"))


@pytest.mark.parametrize(
    ("text", "value"),
    [
        *[("yes", "yes"), ("Y", "yes"), ("yeah", "yes"), ("1", "yes"), ("Yes!", "yes")],
        *[("no", "no"), ("nope", "no"), ("N", "no"), ("2", "no")],
    ],
)
def test_yes_no_words(flow: Flow, text: str, value: str) -> None:
    """Yes/no accepts common words, the button labels and the button numbers."""
    assert parse(YES_NO, text, flow) == Accepted(value)


@pytest.mark.parametrize("text", ["maybe", "3", "", "yes and no"])
def test_yes_no_other_words_ask_again(flow: Flow, text: str) -> None:
    """Anything else is rejected."""
    assert parse(YES_NO, text, flow) == Rejected(flow.message("invalid_yes_no"))


def test_text_empty_and_over_long_are_rejected(flow: Flow) -> None:
    """Free text must be non-blank and at most max_length characters (after trimming)."""
    assert parse(NOTE, "   ", flow) == Rejected(flow.message("text_empty"))
    assert parse(NOTE, "x" * 21, flow) == Rejected(flow.message("text_too_long", max=20))
    assert parse(NOTE, "  " + "x" * 20 + "  ", flow) == Accepted("x" * 20)


@pytest.mark.parametrize("text", ["😫😫", "?!", "👍 ...", "🙂"])
def test_text_of_only_emoji_or_punctuation_asks_for_words(flow: Flow, text: str) -> None:
    """An answer with no letters or digits is asked again, in words."""
    assert parse(NOTE, text, flow) == Rejected(flow.message("text_empty"))


def test_text_with_emoji_and_words_is_kept_whole(flow: Flow) -> None:
    """Emoji beside words are part of the answer."""
    assert parse(NOTE, "sore 😫", flow) == Accepted("sore 😫")


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("3 weeks", 21),
        ("2 months", 60),
        ("a year", 365),
        ("couple of months", 60),
        ("a couple of months", 60),
        ("1.5 years", 548),
        ("10 days", 10),
        ("about 3 weeks", 21),
        ("two years ago", 730),
        ("a week", 7),
        ("3 wks", 21),
        ("for 2 months", 60),
        ("since 3 weeks", 21),
    ],
)
def test_durations_in_words(text: str, days: int) -> None:
    """Durations in words and numbers become days."""
    assert parse_duration(text) == days


@pytest.mark.parametrize(
    "text", ["a while", "some time", "", "lots of weeks", "0 days", "bloating", "3"]
)
def test_unparseable_durations(flow: Flow, text: str) -> None:
    """A duration that is unclear (or zero) is rejected and asked again."""
    assert parse_duration(text) is None
    assert parse(SINCE, text, flow) == Rejected(flow.message("invalid_duration"))


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("since this morning", 1),
        ("5 hours", 1),
        ("18hrs", 1),
        ("since yesterday", 1),
        ("ages", 366),
        ("for years", 366),
        ("forever", 366),
        ("as long as I can remember", 366),
        ("recently", 14),
        ("since Christmas", 335),
        ("since March", 269),
        ("since 2019", 2885),
    ],
)
def test_duration_phrases_keep_the_words(flow: Flow, text: str, days: int) -> None:
    """Phrases are read by a fixed rule (from 2026-11-25) and stored with the patient's words."""
    value = parse_duration(text, date(2026, 11, 25))
    assert value == {"days": days, "said": text}


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("a couple of weeks", 14),
        ("2-3 weeks", 21),
        ("a year and a half", 548),
        ("3 fortnights", 42),
    ],
)
def test_durations_with_amounts_and_ranges(text: str, days: int) -> None:
    """Amounts in words, ranges (the longer end) and halves become whole days."""
    assert parse_duration(text) == days


def test_duration_over_the_maximum_is_rejected(flow: Flow) -> None:
    """A duration beyond the step's max_days is rejected."""
    assert parse(SINCE, "9 years", flow) == Accepted(3285)
    assert parse(SINCE, "11 years", flow) == Rejected(flow.message("invalid_duration"))


@pytest.mark.parametrize(
    ("spec", "value"),
    [
        (AGE, 34),
        (PAIN, "back_pain"),
        (SYMPTOMS, ["bloating", "nausea"]),
        (SYMPTOMS, ["none"]),
        (SCALE, 0),
        (SCALE, 7),
        (YES_NO, "yes"),
        (YES_NO, "no"),
        (NOTE, "fine, thanks"),
        (SINCE, 21),
        (SINCE, 60),
        (SINCE, 365),
        (SINCE, 548),
    ],
)
def test_describe_round_trips(flow: Flow, spec: Step, value: Any) -> None:
    """What `describe` shows the patient parses back to the same value."""
    assert parse(spec, describe(spec, value, flow), flow) == Accepted(value)


def test_describe_round_trips_every_option_of_the_bundled_flow(flow: Flow) -> None:
    """Every option label of the bundled flow, typed back, names its own option."""
    for step_id, flow_step in flow.steps.items():
        spec = flow_step.answer
        for option in getattr(spec, "options", []):
            value = [option.value] if spec.kind == "multi" else option.value
            shown = describe(flow_step, value, flow)
            assert parse(flow_step, shown, flow) == Accepted(value), (step_id, shown)


def test_match_option_needs_three_letters_for_a_start(flow: Flow) -> None:
    """Label starts shorter than three letters never match (too easy to mistype)."""
    opts = PAIN.answer.options  # type: ignore[union-attr]
    assert match_option(opts, "ba", flow, None) is None
    assert match_option(opts, "bac", flow, None) == "back_pain"
