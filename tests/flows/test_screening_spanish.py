"""The free-text screen in Spanish: lay words, negation, misspellings, questions, the lexicon.

Safety does not degrade by language: every emergency and same-day flag has Spanish phrases,
written the way patients type (no accents, text-speak, regional words), and a Spanish patient's
text is also screened with the English lists (the flow's default language).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.engine.format.conditions import referenced_facts
from flows.engine.format.model import Flow
from flows.engine.format.safety_rules import Level
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


LAY_PHRASES = [
    ("esta mañana he vomitado sangre", "vomit_blood"),
    ("vomité con sangre", "vomit_blood"),
    ("el vómito parecía posos de café", "vomit_blood"),
    ("devolví sangre anoche", "vomit_blood"),
    ("sangro muchísimo por el ano y no para", "heavy_bleeding"),
    ("el agua del váter se puso roja y salieron coágulos grandes", "heavy_bleeding"),
    ("heces negras y un dolor de barriga tremendo", "black_stool_pain"),
    ("caca negra y me he desmayado", "black_stool_pain"),
    ("el peor dolor de mi vida en la barriga", "sudden_severe_pain"),
    ("me duele la panza al tocarla, está dura como una piedra", "sudden_severe_pain"),
    ("no puedo hacer caca ni echar gases y tengo la tripa hinchada", "no_stool_no_wind"),
    ("vomito verde desde la mañana", "green_vomit"),
    ("soy diabético y no paro de vomitar", "diabetic_vomiting"),
    ("estoy embarazada y tengo un dolor de barriga muy fuerte", "pregnant_pain"),
    ("tengo dolor en el pecho que se me va al brazo", "chest_pain"),
    ("siento una opresión en el pecho", "chest_pain"),
    ("no puedo respirar bien", "breathing"),
    ("me falta el aire", "breathing"),
    ("quiero quitarme la vida", "self_harm_now"),
    ("me voy a matar", "self_harm_now"),
    ("mis heces son negras como el alquitrán", "black_stool"),
    ("diarrea con sangre desde el lunes", "bloody_diarrhoea"),
    ("no retengo ni el agua", "dehydration"),
    ("casi no orino desde ayer", "dehydration"),
    ("llevo cuatro días vomitando", "long_vomit_diarrhoea"),
    ("dolor de barriga con fiebre y escalofríos", "fever_pain"),
    ("tengo los ojos amarillos", "jaundice"),
    ("se me ha puesto la piel amarilla", "jaundice"),
    ("no quiero vivir", "self_harm_thoughts"),
    ("tengo pensamientos suicidas", "self_harm_thoughts"),
    ("he pensado en hacerme daño", "self_harm_thoughts"),
    ("a veces me autolesiono", "self_harm_thoughts"),
]


@pytest.mark.parametrize(("text", "flag"), LAY_PHRASES)
def test_spanish_lay_phrases_raise_their_flag(
    flow: Flow, screener: Screener, text: str, flag: str
) -> None:
    """Spanish lay wording of each emergency and same-day flag raises that flag surely."""
    assert flag in RuleBook(flow).held({}, screener.screen(text, "es").facts)


def test_every_urgent_flag_has_spanish_phrases(flow: Flow) -> None:
    """Every screened fact has Spanish phrases in each of its rules and a Spanish confirm."""
    for rule in flow.screening.red_flags:
        assert rule.phrases.get("es"), rule.fact
        if rule.confirm is not None:
            assert isinstance(rule.confirm, dict)
            assert rule.confirm.get("es"), rule.fact
    urgent = {rule.id for rule in flow.red_flags if rule.level in (Level.EMERGENCY, Level.SAME_DAY)}
    screened = {rule.fact for rule in flow.screening.red_flags}
    for rule in flow.red_flags:
        if rule.id in urgent:
            assert {c.fact for c in referenced_facts(rule.when)} & screened, rule.id


NEGATED = [
    "no he vomitado sangre",
    "nunca he tenido sangre en las heces",
    "sin dolor en el pecho",
    "no tengo fiebre",
    "no estoy embarazada",
    "ni heces negras ni nada de eso",
]


@pytest.mark.parametrize("text", NEGATED)
def test_spanish_negations_raise_nothing(screener: Screener, text: str) -> None:
    """A denial in Spanish raises no flag and asks nothing."""
    result = screener.screen(text, "es")
    assert result.facts == ()
    assert result.unsure == ()


@pytest.mark.parametrize(
    ("text", "flag"),
    [
        ("he vomitado algo oscuro", "vomit_blood"),
        ("un poco de sangre al limpiarme", "heavy_bleeding"),
        ("tengo las heces muy oscuras", "black_stool"),
        ("estoy algo mareado", "dehydration"),
        ("a veces me hago daño", "self_harm_thoughts"),
    ],
)
def test_vaguer_spanish_words_ask_to_confirm(screener: Screener, text: str, flag: str) -> None:
    """Vaguer Spanish words ask the flag's confirming question instead of raising it."""
    result = screener.screen(text, "es")
    assert flag in result.unsure
    assert flag not in result.facts


@pytest.mark.parametrize(
    "text",
    ["he vomitdo sangre", "vomito con sangrre", "tengo dolor en el pehco", "me kiero matar"],
)
def test_spanish_misspellings_still_raise_a_flag(screener: Screener, text: str) -> None:
    """One slip in a long word, or text-speak, still raises the flag."""
    assert screener.screen(text, "es").facts


@pytest.mark.parametrize(
    ("text", "diagnosis", "advice"),
    [
        ("¿Podría ser celiaquía?", True, False),
        ("¿será SIBO?", True, False),
        ("¿cree que tengo intestino permeable?", True, False),
        ("¿qué probiótico debería tomar?", False, True),
        ("¿debería dejar el gluten?", False, True),
        ("¿Será estrés?", True, False),
        ("No sé si será estrés, me duele la barriga", False, False),
        ("Hinchazón después de comer", False, False),
        ("Quiero entender qué me está pasando", True, False),
    ],
)
def test_spanish_questions_are_recognised(
    screener: Screener, text: str, diagnosis: bool, advice: bool
) -> None:
    """Diagnosis- and advice-seeking questions in Spanish are told apart from answers."""
    intents = screener.screen(text, "es").intents
    assert ("diagnosis" in intents, "advice" in intents) == (diagnosis, advice)


def test_a_spanish_patient_is_also_screened_in_english(screener: Screener) -> None:
    """English typed by a Spanish patient still raises its flag (the default language's lists)."""
    assert "vomit_blood" in screener.screen("I threw up blood", "es").facts


@pytest.mark.parametrize(
    "text",
    [
        "Hinchazón y gases después de casi todas las comidas",
        "Me duele la barriga desde hace un año, sobre todo por la noche",
        "Estreñimiento de toda la vida",
        "Dolor de cabeza y cansancio",
        "Quiero saber si puedo volver a comer pan",
        "Me corto el pelo cada mes",
        "Sangré por la nariz hace un año",
        "Lo que me pasa es que me hincho",
        "He perdido 2 kilos este mes sin hacer dieta",
    ],
)
def test_routine_spanish_answers_raise_nothing(flow: Flow, screener: Screener, text: str) -> None:
    """Everyday descriptions of gut trouble (and of other things) raise no flag and ask nothing
    (a fact like tummy pain may be noted: alone it raises nothing)."""
    found = screener.screen(text, "es")
    assert RuleBook(flow).held({}, found.facts) == {}
    assert found.unsure == ()
    assert not found.asks
