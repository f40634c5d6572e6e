"""The wording lint, run by the flow loader: forbidden wording fails with file, line and rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.engine.format.problems import FlowError, Problem
from flows.engine.loading.loader import load_flow_file, load_flow_text
from flows.engine.safety import wording
from tests.flows.conftest import FlowText

BUNDLED = Path(__file__).resolve().parents[2] / "flows" / "definitions" / "gut_health.yaml"


def problems_of(flow_text: FlowText) -> list[Problem]:
    """The problems the loader reports for a flow text (none when it loads)."""
    try:
        load_flow_text(flow_text.text, file="mini.yaml")
    except FlowError as error:
        return error.problems
    return []


def wording_problems(flow_text: FlowText) -> list[Problem]:
    """Only the wording problems of a flow text."""
    return [p for p in problems_of(flow_text) if "wording" in p.message]


SEEDED = [
    # (old text, new text, rule, quoted words)
    ("Please check your answers.", "You may have leaky gut. Please check.", 2, "leaky gut"),
    ("Please check your answers.", "Your answers sound like IBS.", 2, "sound like IBS"),
    ("Please check your answers.", "This is consistent with SIBO.", 2, "consistent with SIBO"),
    ("Please check your answers.", "You have coeliac disease.", 2, "coeliac disease"),
    ("Please check your answers.", "Bloating suggests dysbiosis.", 2, "suggests dysbiosis"),
    ("How strong is the pain?", "Your pain score is high.", 4, "Your pain score"),
    ("How strong is the pain?", "There is a 70% chance it is nothing.", 4, "70%"),
    ("How strong is the pain?", "You are at high risk.", 4, "high risk"),
    ("label: Belly pain}", "label: This test diagnoses leaky gut}", 6, "test diagnoses"),
    ("label: Belly pain}", "label: Our panel finds your food triggers}", 6, "panel finds"),
    ("high: Worst pain}", "high: Take L-glutamine}", 7, "Take L-glutamine"),
    ("high: Worst pain}", "high: Stop your NSAIDs}", 7, "Stop your NSAIDs"),
    ("high: Worst pain}", "high: Avoid gluten}", 7, "Avoid gluten"),
    ("high: Worst pain}", "high: Try a low-FODMAP diet}", 7, "Try a low-FODMAP"),
    ("unit: years}", "unit: nothing to worry about}", 9, "nothing to worry"),
    ("How old are you?", "That's normal. How old are you?", 9, "That's normal"),
    ("How old are you?", "It sounds like stress. How old are you?", 9, "sounds like stress"),
    ("How old are you?", "Don't worry. How old are you?", 9, "Don't worry"),
    ("Please check your answers.", "You should rest more. Please check.", 7, "You should"),
    (
        "Please check your answers.",
        "I would recommend broth. Please check.",
        7,
        "I would recommend",
    ),
    ("Please check your answers.", "It's best to wait. Please check.", 7, "It's best to"),
    (
        "Please check your answers.",
        "People with leaky gut often feel tired. Please check.",
        2,
        "People with leaky gut",
    ),
]


@pytest.mark.parametrize(
    "text",
    ["You should contact a doctor today.", "You should call 112 now.", "You need to see a doctor."],
)
def test_seeking_care_is_the_one_allowed_directive(text: str) -> None:
    """'You should contact / call / see ...' points to care and is not advice."""
    assert wording.findings(text) == []


@pytest.mark.parametrize(("old", "new", "rule", "quote"), SEEDED)
def test_forbidden_wording_fails_validation_naming_the_line(
    flow_text: FlowText, old: str, new: str, rule: int, quote: str
) -> None:
    """Each kind of forbidden wording in a step text is a problem on that text's line."""
    seeded = flow_text.replace(old, new)
    found = wording_problems(seeded)
    assert len(found) >= 1
    problem = found[0]
    assert problem.file == "mini.yaml"
    assert problem.line == seeded.line_of(new)
    assert problem.message.startswith(f"wording (rule {rule}): '")
    assert quote in problem.message
    assert problem.step is not None


def test_red_flag_messages_are_linted(flow_text: FlowText) -> None:
    """A red-flag message that reassures is reported with the flag as its place."""
    seeded = flow_text.replace("Please see a doctor today.", "Don't worry, see a doctor today.")
    [problem] = wording_problems(seeded)
    assert problem.line == seeded.line_of("Don't worry")
    assert "(in red_flags.severe_pain)" in problem.message


def test_messages_are_linted(flow_text: FlowText) -> None:
    """A `messages` entry that gives diet advice is reported on its line."""
    seeded = flow_text.replace('  help: "Help "', '  help: "Cut out gluten for a week."')
    [problem] = wording_problems(seeded)
    assert problem.line == seeded.line_of("Cut out gluten")
    assert "rule 7" in problem.message
    assert "messages.help" in problem.message


def test_screening_confirm_questions_are_linted(flow_text: FlowText) -> None:
    """A screening confirm question is patient-facing and linted like any other text."""
    seeded = FlowText(
        flow_text.text
        + "facts:\n  - {id: severe_pain, label: Severe pain}\n"
        + "screening:\n  red_flags:\n    - fact: severe_pain\n"
        + "      phrases: {en: [terrible pain]}\n"
        + '      confirm: {en: "You probably have IBS. Is the pain severe?"}\n'
    )
    [problem] = wording_problems(seeded)
    assert problem.line == seeded.line_of("You probably have IBS")
    assert "rule 2" in problem.message


def test_workup_reasons_are_checked_only_for_test_claims(flow_text: FlowText) -> None:
    """Clinician-facing workup reasons may name conditions but may not claim what a test proves."""
    workup = (
        "workup:\n  - panel: stool_panel\n    label: Stool panel\n"
        "    when: {answer: symptoms, includes: pain}\n    reason: {en: REASON}\n"
    )
    naming = FlowText(flow_text.text + workup.replace("REASON", "Pain may suggest colitis."))
    claiming = FlowText(flow_text.text + workup.replace("REASON", "The panel confirms colitis."))
    assert wording_problems(naming) == []
    [problem] = wording_problems(claiming)
    assert "rule 6" in problem.message
    assert problem.line == claiming.line_of("The panel confirms")


@pytest.mark.parametrize(
    "prompt",
    [
        "Has a doctor ever told you that you have coeliac disease?",
        "Do you have coeliac disease, IBD or type 1 diabetes?",
        "How often do you take ibuprofen, naproxen or aspirin?",
        "Which tests have you had for coeliac disease?",
        "That's fine. How old are you?",
        "Do you avoid any foods, like gluten or dairy?",
    ],
)
def test_questions_about_known_diagnoses_and_exposures_pass(
    flow_text: FlowText, prompt: str
) -> None:
    """Questions about known diagnoses, medicines and tests are neutral and allowed."""
    assert wording_problems(flow_text.replace("How old are you?", prompt)) == []


def test_questions_still_may_not_suggest_a_condition(flow_text: FlowText) -> None:
    """'you may have' ties a condition to the patient even inside a question."""
    seeded = flow_text.replace("How old are you?", "Did you know you may have SIBO?")
    [problem] = wording_problems(seeded)
    assert "rule 2" in problem.message


def _with_exception(flow_text: FlowText, where: str, phrase: str) -> FlowText:
    return FlowText(
        flow_text.text
        + "wording_exceptions:\n"
        + f"  - {{where: {where}, phrase: {phrase}, reason: quoted for a test,"
        + " reviewed_by: tester}\n"
    )


def test_a_reviewed_exception_allows_that_phrase_in_that_place(flow_text: FlowText) -> None:
    """An exception naming the place and the phrase allows exactly that finding."""
    seeded = flow_text.replace("Please check your answers.", "Whether you have IBS, check these.")
    assert len(wording_problems(seeded)) == 1
    assert wording_problems(_with_exception(seeded, "review", "IBS")) == []


def test_an_exception_does_not_allow_other_places_or_phrases(flow_text: FlowText) -> None:
    """An exception for one place or phrase leaves other findings reported."""
    seeded = flow_text.replace("Please check your answers.", "You have IBS or SIBO, check these.")
    found = wording_problems(_with_exception(seeded, "review", "IBS"))
    assert [("SIBO" in p.message) for p in found] == [True]
    elsewhere = wording_problems(_with_exception(seeded, "age", "IBS"))
    assert any("allows nothing" in p.message for p in elsewhere)
    assert sum("rule 2" in p.message for p in elsewhere) == 2


def test_a_stale_exception_is_reported_on_its_line(flow_text: FlowText) -> None:
    """An exception that allows nothing is itself a problem, pointing at the exception."""
    seeded = _with_exception(flow_text, "review", "leaky gut")
    [problem] = problems_of(seeded)
    assert "allows nothing" in problem.message
    assert problem.line == seeded.line_of("reviewed_by: tester")


def test_the_bundled_flow_lints_clean() -> None:
    """The bundled gut-health flow loads, and the wording lint finds nothing in it."""
    loaded = load_flow_file(BUNDLED)
    assert wording.lint(loaded.flow, _NoLines(), "gut_health.yaml") == []


def test_findings_quote_the_words_and_span_the_condition() -> None:
    """A rule-2 finding quotes from the trigger to the condition and spans the condition."""
    text = "Symptoms like these suggest leaky gut."
    [finding] = wording.findings(text)
    assert finding.quote == "suggest leaky gut"
    assert text[slice(*finding.span)] == "leaky gut"


class _NoLines:
    """A source map that knows no lines (every path is line 1)."""

    def line(self, path: tuple[str | int, ...]) -> int:
        """Line 1 for every path."""
        return 1


def test_diagnosis_words_find_leaks_but_not_reviewed_phrases() -> None:
    """A sent message tying a condition to the patient is a leak; a reviewed quote is not."""
    flow = load_flow_file(BUNDLED).flow
    refusal = flow.message("diagnosis_refusal")
    assert wording.diagnosis_words(flow, refusal) == []
    assert wording.diagnosis_words(flow, "Your answers suggest SIBO.") == ["suggest SIBO"]


SPANISH = [
    # (text, rule, quoted words)
    ("Puede que tenga celiaquía.", 2, "Puede que tenga celiaquía"),
    ("Sus síntomas sugieren SIBO.", 2, "sugieren SIBO"),
    ("Esto es compatible con colon irritable.", 2, "compatible con colon irritable"),
    ("Tiene intestino permeable.", 2, "Tiene intestino permeable"),
    ("Probablemente sea una intolerancia al gluten.", 2, "Probablemente sea una intolerancia"),
    ("Su riesgo es alto.", 4, "Su riesgo"),
    ("Hay una probabilidad del 70 por ciento.", 4, "probabilidad"),
    ("Según sus síntomas, necesita una prueba de heces.", 5, "Según sus síntomas"),
    ("Esta prueba diagnostica el intestino permeable.", 6, "prueba diagnostica"),
    ("Deje de tomar ibuprofeno.", 7, "Deje de tomar ibuprofeno"),
    ("Evite el gluten y los lácteos.", 7, "Evite el gluten"),
    ("No se preocupe.", 9, "No se preocupe"),
    ("Eso es totalmente normal.", 9, "es totalmente normal"),
    ("Seguramente es solo estrés.", 9, "solo estrés"),
    ("Estará bien.", 9, "Estará bien"),
]


@pytest.mark.parametrize(("text", "rule", "quote"), SPANISH)
def test_the_deny_lists_read_spanish(text: str, rule: int, quote: str) -> None:
    """Spanish diagnostic, score, routing, test-claim, advice and reassuring words are found."""
    found = [(f.rule.number, f.quote) for f in wording.findings(text)]
    assert any(number == rule and quote in words for number, words in found), found


@pytest.mark.parametrize(
    "text",
    [
        "¿Tiene diabetes y no para de vomitar?",
        "¿Con qué frecuencia toma analgésicos antiinflamatorios?",
        "¿Algún médico le ha diagnosticado enfermedad celíaca?",
        "El primer paso habitual de la clínica son unas pruebas de laboratorio.",
        "Los síntomas por sí solos no permiten saberlo; un profesional revisará sus respuestas.",
        "¿Qué tal duerme normalmente?",
    ],
)
def test_plain_spanish_intake_wording_passes(text: str) -> None:
    """Asking about a known diagnosis or a medicine, and routing everyone alike, are allowed."""
    assert wording.findings(text) == []


def test_accents_do_not_hide_words_and_quotes_keep_them() -> None:
    """With or without accents the same words are found; the quote is the text's own."""
    [with_accents] = wording.findings("Puede que tenga celiaquía.")
    [without] = wording.findings("Puede que tenga celiaquia.")
    assert with_accents.quote == "Puede que tenga celiaquía"
    assert without.quote == "Puede que tenga celiaquia"
    assert with_accents.span == without.span
