"""Properties of the free-text screen on the bundled flow: misspellings and benign texts.

- Every sure phrase of every fact, with one random slip (insertion, deletion, substitution or
  swap of neighbours, never the first letter) in one of its words of six or more letters, is
  still found as that fact. Slips that make a word the screen lists in its own right (a
  variant, a phrase word, or one of the lexicon's `real_words`: "swallow" -> "shallow",
  "watery" -> "water") are words, not misspellings, and are left out; so are slips that make
  a run of three equal letters, which the screen reads as two ("squee(z)ed" -> "squeed").
- Random benign texts (routine vocabulary: foods, bloating, tiredness, stress, everyday life,
  idioms that sound alarming) raise a flag in under 2% of cases, even for a 45-year-old who
  ticked tummy pain (so one stray fact could combine with the checklist).
"""

from __future__ import annotations

import random
import re
import string
from functools import cache
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from flows.engine.format.model import Flow
from flows.engine.loading.loader import load_flow_file
from flows.engine.safety.flags import RuleBook
from flows.engine.safety.screening import Screener
from tests.safety.benign import benign_texts

LONG_WORD = 6
BENIGN_RUNS = 3000
ROUTINE_ANSWERS = {"age": 45, "digestive": ["bloating", "pain"]}


BUNDLED = Path(__file__).resolve().parents[2] / "flows" / "definitions" / "gut_health.yaml"


@cache
def bundled() -> tuple[Flow, Screener]:
    """The bundled flow and its screen, compiled once (module-level: Hypothesis prints
    fixture arguments of a failing example, and a whole flow is a long read)."""
    flow = load_flow_file(BUNDLED).flow
    return flow, Screener(flow)


def sure_phrases(flow: Flow) -> list[tuple[str, str]]:
    """(fact, phrase) for every sure English phrase with a word of six or more letters."""
    return [
        (rule.fact, phrase)
        for rule in flow.screening.red_flags
        for phrase in rule.phrases.get("en", [])
        if any(len(word) >= LONG_WORD for word in phrase.split())
    ]


def misspell(word: str, data: st.DataObject) -> str:
    """`word` with one random slip after its first letter."""
    kind = data.draw(st.sampled_from(["insert", "delete", "substitute", "swap"]))
    at = data.draw(st.integers(min_value=1, max_value=len(word) - 1))
    letter = data.draw(st.sampled_from(string.ascii_lowercase))
    if kind == "insert":
        return word[:at] + letter + word[at:]
    if kind == "delete":
        return word[:at] + word[at + 1 :]
    if kind == "substitute":
        return word[:at] + letter + word[at + 1 :]
    if at + 1 >= len(word):
        at = len(word) - 2
    return word[:at] + word[at + 1] + word[at] + word[at + 2 :]


@settings(max_examples=2000, deadline=None)
@given(data=st.data())
def test_one_slip_in_a_long_word_still_finds_the_fact(data: st.DataObject) -> None:
    """A phrase with one slip in a word of 6+ letters still asserts its fact."""
    flow, screener = bundled()
    fact, phrase = data.draw(st.sampled_from(sure_phrases(flow)))
    words = phrase.split()
    index = data.draw(st.sampled_from([i for i, w in enumerate(words) if len(w) >= LONG_WORD]))
    slipped = misspell(words[index], data)
    if screener.knows(slipped, "en") or not re.fullmatch("[a-z]+", slipped):
        return  # a listed word of its own ("watery" -> "water"), not a misspelling
    if re.search(r"(.)\1\1", slipped):
        return  # a run of three letters is read as two ("bloood"): not one slip any more
    text = " ".join([*words[:index], slipped, *words[index + 1 :]])
    found = screener.screen(text, "en")
    assert fact in found.facts, f"{text!r} lost {fact}"


def test_benign_texts_raise_under_two_percent_false_flags() -> None:
    """Routine texts (with a routine checklist behind them) rarely raise a flag."""
    flow, screener = bundled()
    rules = RuleBook(flow)
    texts = benign_texts(BENIGN_RUNS, seed=random.Random(20261128).randrange(10**6))
    flagged = [t for t in texts if rules.held(ROUTINE_ANSWERS, screener.screen(t, "en").facts)]
    assert len(flagged) / len(texts) < 0.02, flagged[:10]


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(min_value=0, max_value=10**9))
def test_random_benign_texts_rarely_ask_or_flag(seed: int) -> None:
    """Any batch of 50 benign texts has at most one that flags or asks to confirm."""
    flow, screener = bundled()
    rules = RuleBook(flow)
    noisy = 0
    for text in benign_texts(50, seed=seed):
        found = screener.screen(text, "en")
        noisy += bool(rules.held(ROUTINE_ANSWERS, found.facts) or found.unsure)
    assert noisy <= 1


def test_a_blood_orange_is_a_fruit_not_blood() -> None:
    """A blood orange is one word for the screen; "red ... blood" nearby still asks."""
    _, screener = bundled()
    quiet = screener.screen("I get bloated after red wine or blood orange juice", "en")
    assert not quiet.facts
    assert not quiet.unsure
    still = screener.screen("red wine or blood", "en")
    assert still.unsure
