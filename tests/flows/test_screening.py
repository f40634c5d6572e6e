"""The free-text screen on the bundled flow's phrase data: lay words, negation, misspellings."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.engine.format.conditions import referenced_facts
from flows.engine.format.model import Flow
from flows.engine.loading.loader import load_flow_file
from flows.engine.safety.flags import RuleBook
from flows.engine.safety.screening import Screener

BUNDLED = Path(__file__).resolve().parents[2] / "flows" / "definitions" / "gut_health.yaml"


@pytest.fixture(scope="module")
def flow() -> Flow:
    """The bundled gut-health flow."""
    return load_flow_file(BUNDLED).flow


@pytest.fixture(scope="module")
def screener(flow: Flow) -> Screener:
    """The bundled flow's screen, compiled once for the module."""
    return Screener(flow)


@pytest.fixture(scope="module")
def rules(flow: Flow) -> RuleBook:
    """The bundled flow's rules over facts."""
    return RuleBook(flow)


def flags_of(screener: Screener, rules: RuleBook, text: str) -> dict[str, str]:
    """The flags the facts of `text` raise on their own (no answers)."""
    return rules.held({}, screener.screen(text, "en").facts)


LAY_PHRASES = [
    ("I threw up blood this morning", "vomit_blood"),
    ("been puking blood", "vomit_blood"),
    ("I was sick with blood in it", "vomit_blood"),
    ("my vomit looked like coffee grounds", "vomit_blood"),
    ("the toilet water turned red and there were big clots", "heavy_bleeding"),
    ("bleeding from my bum that won't stop", "heavy_bleeding"),
    ("black poo and really bad tummy pain", "black_stool_pain"),
    ("worst pain of my life in my belly", "sudden_severe_pain"),
    ("my stomach is too painful to touch", "sudden_severe_pain"),
    ("I can't poop or fart and my belly is huge", "no_stool_no_wind"),
    ("throwing up green stuff, green vomit", "green_vomit"),
    ("I'm diabetic and keep vomiting", "diabetic_vomiting"),
    ("I'm pregnant and have bad tummy pain", "pregnant_pain"),
    ("crushing pain in my chest going down my arm", "chest_pain"),
    ("my chest is tight", "chest_pain"),
    ("I can't breathe properly", "breathing"),
    ("struggling to breathe", "breathing"),
    ("I want to end it", "self_harm_now"),
    ("I'm going to kill myself", "self_harm_now"),
    ("my poo is like tar", "black_stool"),
    ("black poop for two days", "black_stool"),
    ("bloody diarrhea since Monday", "bloody_diarrhoea"),
    ("I can't keep any water down", "dehydration"),
    ("I've hardly peed all day", "dehydration"),
    ("vomiting for 4 days now", "long_vomit_diarrhoea"),
    ("tummy pain with a fever and shivering", "fever_pain"),
    ("the whites of my eyes are yellow", "jaundice"),
    ("my skin has gone yellow", "jaundice"),
    ("I don't want to be here anymore", "self_harm_thoughts"),
    ("I've been feeling suicidal", "self_harm_thoughts"),
    ("I've been self-harming", "self_harm_thoughts"),
    ("I haven't been able to keep anything down", "dehydration"),
    ("I'm not able to breathe", "breathing"),
    ("I haven't been able to poo or pass wind", "no_stool_no_wind"),
    ("there was blood in my vomit", "vomit_blood"),
    ("my poo looks like tar and my tummy really hurts", "black_stool_pain"),
    ("there's blood pouring from my bottom and it won't stop", "heavy_bleeding"),
]


@pytest.mark.parametrize(("text", "flag"), LAY_PHRASES)
def test_lay_phrases_raise_their_flag(
    screener: Screener, rules: RuleBook, text: str, flag: str
) -> None:
    """Lay wording of each emergency and same-day flag raises that flag with confidence."""
    assert flag in flags_of(screener, rules, text)


def test_every_urgent_flag_has_screening_phrases(flow: Flow, screener: Screener) -> None:
    """Every flag of every level can be raised from free text: one of its facts has phrases."""
    screened = {rule.fact for rule in flow.screening.red_flags if rule.phrases.get("en")}
    for rule in flow.red_flags:
        if rule.id == "new_symptoms_50":  # onset age and duration: asked, never said
            continue
        facts = {check.fact for check in referenced_facts(rule.when)}
        assert facts & screened, rule.id
    assert screened <= {fact.id for fact in flow.facts}


@pytest.mark.parametrize(
    "text",
    [
        "no blood",
        "never vomited blood",
        "I haven't thrown up any blood",
        "not bleeding from my bottom",
        "I don't have any chest pain",
        "I'm not suicidal",
        "I have not had any black poo",
        "threw up but no blood",
        "no fever",
    ],
)
def test_negated_phrases_raise_nothing(screener: Screener, text: str) -> None:
    """A negation just before a phrase, or inside it, cancels it."""
    result = screener.screen(text, "en")
    assert result.facts == ()
    assert result.unsure == ()


@pytest.mark.parametrize(
    ("text", "flag"),
    [
        ("I know I threw up blood", "vomit_blood"),
        ("no, but I threw up blood", "vomit_blood"),
        ("No. I threw up blood", "vomit_blood"),
        ("no pain, just black poo", "black_stool"),
        ("I can't stop throwing up blood", "vomit_blood"),
        ("I'm not sure but I think my poo is black", "black_stool"),
    ],
)
def test_negation_scope_ends_at_clause_boundaries(
    screener: Screener, rules: RuleBook, text: str, flag: str
) -> None:
    """'no' inside 'know', or before a comma or 'but', does not cancel a later phrase."""
    assert flag in flags_of(screener, rules, text)


def test_a_distant_negation_asks_instead_of_dropping(screener: Screener) -> None:
    """A negation a few words before, with other words between, asks the confirming question."""
    result = screener.screen("no appetite and vomited blood", "en")
    assert result.facts == ()
    assert result.unsure == ("vomit_blood",)


@pytest.mark.parametrize(
    ("text", "flag"),
    [
        ("I vomitted bloood", "vomit_blood"),
        ("diarhoea with blood in it", "bloody_diarrhoea"),
        ("blakc poo", "black_stool"),
        ("I cant breath", "breathing"),
        ("yelow eyes", "jaundice"),
        ("threw up some blood", "vomit_blood"),
        ("VOMITING BLOOD!!!", "vomit_blood"),
        ("I’ve been vómiting blood", "vomit_blood"),
    ],
)
def test_misspellings_gaps_and_case_are_tolerated(
    screener: Screener, rules: RuleBook, text: str, flag: str
) -> None:
    """Spelling slips on long words, repeated letters, accents, case and small gaps still match."""
    assert flag in flags_of(screener, rules, text)


@pytest.mark.parametrize(
    "text",
    [
        "I had blood tests and was vomiting last year",
        "at the end of it all I just want answers",
        "fizzy drinks make me bloated",
        "I get hay fever in spring",
        "my back hurts after sitting",
        "I stood up too fast",
        "bloating and wind after bread",
        "I had black coffee and my tummy hurts",
    ],
)
def test_everyday_words_raise_nothing(screener: Screener, rules: RuleBook, text: str) -> None:
    """Compound words, near-miss words and ordinary complaints are not red flags."""
    result = screener.screen(text, "en")
    assert rules.held({}, result.facts) == {}
    assert result.unsure == ()
    assert not result.asks


@pytest.mark.parametrize(
    ("text", "flag"),
    [
        ("a bit of blood on the paper", "heavy_bleeding"),
        ("I've been losing weight", "weight_loss"),
        ("my poo is quite dark", "black_stool"),
        ("my chest feels weird", "chest_pain"),
        ("bit short of breath", "breathing"),
    ],
)
def test_vague_phrases_ask_to_confirm(screener: Screener, text: str, flag: str) -> None:
    """Vaguer phrases go to `unsure` (ask the fact's confirm question), not `facts`."""
    result = screener.screen(text, "en")
    assert flag in result.unsure
    assert flag not in result.facts


def test_confident_facts_are_not_also_unsure(screener: Screener) -> None:
    """A fact matched with confidence is not listed again as one to confirm."""
    result = screener.screen("black poo, my poo is dark", "en")
    assert "black_stool" in result.facts
    assert "black_stool" not in result.unsure


@pytest.mark.parametrize(
    "text",
    [
        "do I have leaky gut?",
        "is it celiac?",
        "Is this IBS",
        "what's wrong with me",
        "can you diagnose me",
        "could it be SIBO?",
        "am I coeliac",
    ],
)
def test_diagnosis_seeking_is_recognised(screener: Screener, text: str) -> None:
    """Questions asking for a diagnosis are reported as diagnosis-seeking."""
    result = screener.screen(text, "en")
    assert result.intents == ("diagnosis",)
    assert not result.facts


@pytest.mark.parametrize(
    "text",
    [
        "which supplement should I take?",
        "should I stop ibuprofen?",
        "what should I eat",
        "can I take probiotics",
        "what diet is best",
    ],
)
def test_advice_seeking_is_recognised(screener: Screener, text: str) -> None:
    """Questions asking for treatment, diet or supplement advice are reported as advice-seeking."""
    assert screener.screen(text, "en").intents == ("advice",)


@pytest.mark.parametrize(
    "text",
    [
        "they diagnosed me with IBS in 2015",
        "I don't know what's wrong with me, I'm bloated all the time",
        "bloating after meals, mostly in the evening",
        "I take ibuprofen twice a week",
        "my sister has coeliac disease",
    ],
)
def test_answers_are_not_questions(screener: Screener, text: str) -> None:
    """Ordinary answers that mention a diagnosis or a medicine are neither kind of question."""
    assert not screener.screen(text, "en").asks


@pytest.mark.parametrize("text", ["", "   ", "😀😀😀", "👍", "?!...", "🤢🩸"])
def test_empty_or_emoji_only_text_gives_an_empty_result(screener: Screener, text: str) -> None:
    """Text with no words raises nothing."""
    assert screener.screen(text, "en").empty


def test_an_unknown_language_falls_back_to_the_default(screener: Screener) -> None:
    """A patient language without phrase data is screened with the default language's phrases."""
    assert screener.screen("I threw up blood", "xx").facts == ("vomit_blood",)


def test_facts_come_in_the_order_of_the_screening_rules(screener: Screener) -> None:
    """Several facts in one text are listed in the flow's rule order, not the text's."""
    result = screener.screen("my skin is yellow and I threw up blood", "en")
    assert result.facts == ("vomit_blood", "jaundice")


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=600))
def test_arbitrary_text_never_raises(screener: Screener, flow: Flow, text: str) -> None:
    """Any text screens without error and only ever names facts the flow defines."""
    result = screener.screen(text, "en")
    known = {fact.id for fact in flow.facts}
    assert set(result.facts) <= known
    assert set(result.unsure) <= known
    assert not set(result.facts) & set(result.unsure)


@settings(max_examples=100, deadline=None)
@given(
    before=st.text(alphabet="abcdefghij ,.", max_size=40),
    after=st.text(alphabet="klmnopqrst ,.", max_size=40),
)
def test_a_phrase_in_its_own_sentence_is_always_found(
    screener: Screener, before: str, after: str
) -> None:
    """A red-flag sentence surrounded by other sentences is found whatever surrounds it."""
    text = f"{before}. I threw up blood. {after}"
    assert "vomit_blood" in screener.screen(text, "en").facts
