"""The structural checks of flow files: one test per mistake, each at its exact line.

Each test seeds one mistake into the small valid flow of `conftest.py` and asserts the line the
problem points at and a fragment of its message.
"""

from __future__ import annotations

import pytest

from flows.engine.format.problems import FlowError, Problem, SourceMap
from flows.engine.loading.loader import load_flow_text
from flows.engine.safety import wording
from flows.engine.safety.flags import RuleBook
from flows.engine.safety.screening import Screener
from flows.engine.validation import validator
from tests.flows.conftest import FlowText

BLOOD_STEP = """\
  blood:
    prompt: Have you seen blood in your stool?
    answer: {kind: yes_no}
    next: review
  review:
    prompt: Please check"""

NOTES_STEP = """\
  notes:
    prompt: Anything else you want the clinician to know?
    answer: {kind: text}
    next: review
  review:
    prompt: Please check"""


def problems_of(flow: FlowText) -> list[Problem]:
    """The problems the loader reports for `flow` (it must report some)."""
    with pytest.raises(FlowError) as caught:
        load_flow_text(flow.text, file="mini.yaml")
    return caught.value.problems


def assert_reported(flow: FlowText, line: int, fragment: str) -> None:
    """Loading `flow` reports a problem at `line` whose message contains `fragment`."""
    problems = problems_of(flow)
    found = [p for p in problems if p.line == line and fragment in p.message]
    assert found, f"no problem at line {line} with {fragment!r}; got:\n" + "\n".join(
        str(p) for p in problems
    )


def with_step(flow: FlowText, step: str, previous: str = "next: review") -> FlowText:
    """`flow` with `step` inserted before review (reached from severity)."""
    return flow.replace(previous, "next: " + step.split(":")[0].strip()).replace(
        "  review:\n    prompt: Please check", step
    )


def test_the_small_flow_is_valid(flow_text: FlowText) -> None:
    """The fixture flow loads without problems (so every seeded mistake is the only one)."""
    loaded = load_flow_text(flow_text.text, file="mini.yaml")
    assert next(iter(loaded.flow.steps)) == "consent"


def test_unknown_start(flow_text: FlowText) -> None:
    """A start naming no step is reported at `start:`."""
    bad = flow_text.replace("start: consent", "start: welcome")
    assert_reported(bad, bad.line_of("start: welcome"), "start: unknown step 'welcome'")


def test_unknown_consent_step(flow_text: FlowText) -> None:
    """A consent block naming no step is reported at the consent line."""
    bad = flow_text.replace("{step: consent, accept", "{step: agreement, accept")
    assert_reported(bad, bad.line_of("step: agreement"), "consent: unknown step 'agreement'")


def test_consent_step_must_be_start(flow_text: FlowText) -> None:
    """Consent asked anywhere but first is reported."""
    bad = flow_text.replace("{step: consent, accept: agree}", "{step: symptoms, accept: none}")
    assert_reported(bad, bad.line_of("step: symptoms"), "must be the start step")


def test_consent_step_must_be_a_choice(flow_text: FlowText) -> None:
    """A consent step that is not a choice is reported."""
    bad = flow_text.replace("start: consent", "start: symptoms").replace(
        "{step: consent, accept: agree}", "{step: symptoms, accept: none}"
    )
    assert_reported(bad, bad.line_of("step: symptoms"), "must be a choice, not multi")


def test_consent_accept_must_be_an_option(flow_text: FlowText) -> None:
    """The accepting option must be one of the consent step's options."""
    bad = flow_text.replace("accept: agree}", "accept: yes_please}")
    assert_reported(bad, bad.line_of("accept: yes_please"), "'yes_please' is not an option")


def test_unknown_next_step(flow_text: FlowText) -> None:
    """A `next` naming no step is reported at that `next`."""
    bad = flow_text.replace("next: symptoms", "next: symptom")
    assert_reported(bad, bad.line_of("next: symptom"), "next: unknown step 'symptom'")


def test_unknown_branch_goto(flow_text: FlowText) -> None:
    """A branch `goto` naming no step is reported at the branch."""
    bad = flow_text.replace("goto: declined}", "goto: decline}")
    assert_reported(bad, bad.line_of("goto: decline}"), "next: unknown step 'decline'")


def test_unreachable_step(flow_text: FlowText) -> None:
    """A step no path leads to is reported at its id."""
    bad = flow_text.replace("next: severity", "next: review")
    assert_reported(bad, bad.line_of("  severity:"), "'severity' can never be reached")


def test_unreachable_region_is_reported_once(flow_text: FlowText) -> None:
    """Steps cut off behind one unreachable step are counted at that step, not each listed."""
    bad = flow_text.replace("- {goto: age}", "- {goto: review}")
    problems = [p for p in problems_of(bad) if "never be reached" in p.message]
    assert [(p.line, p.message) for p in problems] == [
        (
            bad.line_of("  age:"),
            "step 'age' can never be reached (nor the 2 step(s) reached only through it)",
        )
    ]


def test_unreachable_loop_is_reported_once(flow_text: FlowText) -> None:
    """A loop no path enters (age <-> symptoms) is reported once, at its first step."""
    bad = flow_text.replace("- {goto: age}", "- {goto: review}").replace(
        "next: severity", "next: age"
    )
    problems = [p for p in problems_of(bad) if "never be reached" in p.message]
    assert [p.line for p in problems] == [bad.line_of("  age:"), bad.line_of("  severity:")]
    assert "(nor the 1 step(s)" in problems[0].message
    assert problems[1].message == "step 'severity' can never be reached"


def test_question_without_next(flow_text: FlowText) -> None:
    """A question with no `next` is a dead end, reported at its id."""
    bad = flow_text.replace("    next: symptoms\n", "")
    assert_reported(bad, bad.line_of("  age:"), "'age' has no next")


def test_end_step_with_next(flow_text: FlowText) -> None:
    """An end step must stop the intake."""
    bad = flow_text.replace("answer: {kind: end}\n", "answer: {kind: end}\n    next: review\n")
    line = bad.line_of("next: review", after="answer: {kind: end}")
    assert_reported(bad, line, "an end step must not have a next")


def test_unconditional_branch_must_be_last(flow_text: FlowText) -> None:
    """A branch without `when` before others makes them unreachable."""
    bad = flow_text.replace(
        "      - {when: {answer: consent, equals: decline}, goto: declined}\n      - {goto: age}",
        "      - {goto: age}\n      - {when: {answer: consent, equals: decline}, goto: declined}",
    )
    assert_reported(bad, bad.line_of("- {goto: age}"), "without 'when' must be the last")


def test_last_branch_must_be_unconditional(flow_text: FlowText) -> None:
    """A branch list ends with the otherwise case."""
    bad = flow_text.replace(
        "- {goto: age}", "- {when: {answer: consent, equals: agree}, goto: age}"
    )
    assert_reported(bad, bad.line_of("goto: age}"), "the last branch must have no 'when'")


def test_loop_without_way_out(flow_text: FlowText) -> None:
    """Steps that can only loop among themselves never reach an end."""
    bad = flow_text.replace("    next: done\n", "    next: severity\n")
    line = bad.line_of("next: severity", after="  review:")
    assert_reported(bad, line, "no end step can be reached from step 'review'")


def test_next_condition_on_a_later_step(flow_text: FlowText) -> None:
    """A branch may only test steps answered on every path before it."""
    bad = flow_text.replace("{answer: consent, equals: decline}", "{answer: age, gte: 90}")
    assert_reported(bad, bad.line_of("answer: age, gte: 90"), "tests 'age', which is not always")


def test_next_condition_on_a_step_not_on_every_path(flow_text: FlowText) -> None:
    """A step answered on only some paths (here: declined consent skips age) is rejected."""
    bad = flow_text.replace(
        "    next: done\n",
        "    next:\n      - {when: {answer: age, gte: 51}, goto: done}\n      - {goto: done}\n",
    )
    bad = bad.replace("goto: declined}", "goto: review}")
    assert_reported(bad, bad.line_of("answer: age, gte: 51"), "tests 'age', which is not always")


def test_ask_when_on_its_own_step(flow_text: FlowText) -> None:
    """`ask_when` is decided before the step is asked, so it cannot test that step."""
    bad = flow_text.replace("{answer: symptoms, includes: pain}", "{answer: severity, gte: 5}")
    assert_reported(bad, bad.line_of("ask_when:"), "ask_when of 'severity' tests 'severity'")


def test_condition_on_unknown_step(flow_text: FlowText) -> None:
    """A red flag testing a step that does not exist is reported at its condition."""
    bad = flow_text.replace("{answer: age, gte: 50}", "{answer: years, gte: 50}")
    assert_reported(bad, bad.line_of("answer: years"), "unknown step 'years'")


def test_includes_needs_a_multi_step(flow_text: FlowText) -> None:
    """`includes` tests a multi answer only."""
    bad = flow_text.replace("{answer: severity, gte: 9}", "{answer: severity, includes: pain}")
    assert_reported(bad, bad.line_of("includes: pain}, {"), "'includes' needs a multi step")


def test_ordering_needs_a_number(flow_text: FlowText) -> None:
    """`gt`/`gte`/`lt`/`lte` test numbers, scales and durations only."""
    bad = flow_text.replace("{answer: age, gte: 50}", "{answer: symptoms, gte: 50}")
    assert_reported(bad, bad.line_of("answer: symptoms, gte"), "'gte' needs a number, scale")


def test_equals_needs_an_option_value(flow_text: FlowText) -> None:
    """A choice is compared with one of its option values."""
    bad = flow_text.replace("equals: decline}", "equals: refuse}")
    assert_reported(bad, bad.line_of("equals: refuse"), "'refuse' is not an option of 'consent'")


def test_includes_needs_an_option_value(flow_text: FlowText) -> None:
    """A multi is tested for one of its option values."""
    bad = flow_text.replace("includes: pain}", "includes: cramps}")
    assert_reported(bad, bad.line_of("includes: cramps"), "'cramps' is not an option")


def test_yes_no_compares_with_yes_or_no(flow_text: FlowText) -> None:
    """A yes/no step is compared with yes or no."""
    bad = with_step(flow_text, BLOOD_STEP).replace(
        "{answer: age, gte: 50}", "{answer: blood, equals: true}"
    )
    assert_reported(bad, bad.line_of("answer: blood, equals"), "answered yes or no, not True")


def test_number_compares_with_numbers(flow_text: FlowText) -> None:
    """A number step is compared with numbers."""
    bad = flow_text.replace("{answer: age, gte: 50}", "{answer: age, in: [old, 60]}")
    assert_reported(bad, bad.line_of("answer: age, in:"), "answered with a number, not 'old'")


def test_text_step_allows_only_answered(flow_text: FlowText) -> None:
    """A free-text answer can only be tested for being answered."""
    bad = with_step(flow_text, NOTES_STEP).replace(
        "{answer: age, gte: 50}", "{answer: notes, equals: blood}"
    )
    assert_reported(bad, bad.line_of("answer: notes"), "only 'answered' can test it")


def test_missing_translation(flow_text: FlowText) -> None:
    """In a two-language flow every text needs both languages."""
    bad = flow_text.replace("languages: [en]", "languages: [en, de]").replace(
        "prompt: How old are you?", "prompt: {en: How old are you?}"
    )
    assert_reported(bad, bad.line_of("How old are you?"), "missing translation 'de'")


def test_plain_text_in_a_two_language_flow(flow_text: FlowText) -> None:
    """A plain string is only allowed when the flow has one language."""
    bad = flow_text.replace("languages: [en]", "languages: [en, de]")
    assert_reported(bad, bad.line_of("label: Age"), "needs one text per language (en, de)")


def test_translation_in_an_unlisted_language(flow_text: FlowText) -> None:
    """A text in a language the flow does not list is reported."""
    bad = flow_text.replace("title: Mini intake", "title: {en: Mini intake, fr: Mini}")
    assert_reported(bad, bad.line_of("title:"), "language 'fr' is not in the flow's languages")


def test_duplicate_option_value(flow_text: FlowText) -> None:
    """Two options with one value are reported at the second."""
    bad = flow_text.replace("{value: pain, label: Belly pain}", "{value: bloating, label: Pain}")
    assert_reported(bad, bad.line_of("label: Pain}"), "duplicate option value 'bloating'")


def test_multi_none_must_be_an_option(flow_text: FlowText) -> None:
    """The exclusive `none` of a multi names one of its options."""
    bad = flow_text.replace("      none: none", "      none: nothing")
    assert_reported(bad, bad.line_of("none: nothing"), "'nothing' is not one of the options")


def test_number_bounds_are_ordered(flow_text: FlowText) -> None:
    """`min` must be below `max`."""
    bad = flow_text.replace("min: 16, max: 110", "min: 110, max: 16")
    assert_reported(bad, bad.line_of("min: 110"), "min (110) must be less than max (16)")


def test_duplicate_red_flag_id(flow_text: FlowText) -> None:
    """Red-flag ids are unique."""
    second = "  - id: severe_pain\n    level: soon\n    when: {answer: age, gte: 90}\n"
    second += "    label: Old\n    message: Please see a doctor soon.\nmessages:\n"
    bad = flow_text.replace("messages:\n", second)
    line = bad.line_of("id: severe_pain", after="message: Please see a doctor today")
    assert_reported(bad, line, "red_flags: duplicate id 'severe_pain'")


def test_duplicate_modifier_id(flow_text: FlowText) -> None:
    """Modifier ids are unique."""
    rule = "  - {id: older, when: {answer: age, gte: 70}, flags: [severe_pain]}\n"
    bad = flow_text.replace(
        "messages:\n", "modifiers:\n" + rule + rule.replace("70", "80") + "messages:\n"
    )
    assert_reported(bad, bad.line_of("gte: 80"), "modifiers: duplicate id 'older'")


def test_duplicate_workup_panel(flow_text: FlowText) -> None:
    """Workup panels are listed once."""
    hint = (
        "  - {panel: stool, label: Stool, when: {answer: symptoms, includes: pain}, reason: R%s}\n"
    )
    bad = flow_text.replace("messages:\n", "workup:\n" + hint % 1 + hint % 2 + "messages:\n")
    assert_reported(bad, bad.line_of("reason: R2"), "workup: duplicate panel 'stool'")


def test_modifier_names_unknown_flag(flow_text: FlowText) -> None:
    """A modifier raises existing red flags only."""
    rule = "modifiers:\n  - {id: older, when: {answer: age, gte: 70}, flags: [bleeding]}\n"
    bad = flow_text.replace("messages:\n", rule + "messages:\n")
    assert_reported(bad, bad.line_of("flags: [bleeding]"), "unknown red flag 'bleeding'")


def test_step_names_unknown_section(flow_text: FlowText) -> None:
    """A step's summary section must be declared."""
    bad = flow_text.replace("    label: Age\n", "    label: Age\n    section: history\n")
    assert_reported(bad, bad.line_of("section: history"), "unknown section 'history'")


def test_unknown_placeholder_in_prompt(flow_text: FlowText) -> None:
    """Prompts may use only {booking_url} and {emergency_number}."""
    bad = flow_text.replace("How old are you?", "How old are you, {nickname}?")
    assert_reported(bad, bad.line_of("{nickname}"), "unknown placeholder {nickname}")


def test_unknown_placeholder_in_red_flag_message(flow_text: FlowText) -> None:
    """Red-flag messages may use only {booking_url} and {emergency_number}."""
    bad = flow_text.replace("call {emergency_number}", "call {emergency}")
    assert_reported(bad, bad.line_of("{emergency}"), "unknown placeholder {emergency}")


def test_undocumented_placeholder_in_messages(flow_text: FlowText) -> None:
    """A message may use only the placeholders its field documents."""
    bad = flow_text.replace(
        'invalid_number: "Invalid number {min} {max}"', 'invalid_number: "{low}"'
    )
    assert_reported(bad, bad.line_of("invalid_number:"), "unknown placeholder {low}")


def test_typed_messages_are_checked_like_messages(flow_text: FlowText) -> None:
    """A typed variant may use only its message's placeholders, and needs every language."""
    bad = FlowText(flow_text.text + 'typed_messages:\n  choose_many_or_none: "Type {all}"\n')
    assert_reported(bad, bad.line_of("Type {all}"), "unknown placeholder {all}")
    ok = FlowText(flow_text.text + 'typed_messages:\n  choose_many_or_none: "Type {none}"\n')
    assert (
        load_flow_text(ok.text, file="mini.yaml")
        .flow.typed_variant()
        .message("choose_many_or_none", none="N")
        == "Type N"
    )


def test_unbalanced_braces(flow_text: FlowText) -> None:
    """A lone brace would break filling in placeholders."""
    bad = flow_text.replace("How old are you?", "How old are you }?")
    assert_reported(bad, bad.line_of("How old are you }"), "unbalanced braces")


def test_button_payload_over_the_limit(
    flow_text: FlowText, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A payload longer than the limit is reported at the step's answer (limit lowered here)."""
    monkeypatch.setattr(validator, "MAX_PAYLOAD_BYTES", 18)
    line = flow_text.line_of("answer:", after="  consent:")
    assert_reported(flow_text, line, "button payload of 19 bytes exceeds 18")


def test_wording_lint_problems_are_reported(
    flow_text: FlowText, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The validator passes the wording lint's problems through with its own."""

    def lint(flow: object, source_map: SourceMap, file: str) -> list[Problem]:
        return [Problem(file, source_map.line(("steps", "age", "prompt")), "wording: test")]

    monkeypatch.setattr(wording, "lint", lint)
    assert_reported(flow_text, flow_text.line_of("How old are you?"), "wording: test")


def test_screening_phrase_names_unknown_fact(flow_text: FlowText) -> None:
    """A free-text phrase rule asserts a declared fact only."""
    rule = "screening:\n  red_flags:\n"
    rule += "    - {fact: bleeding, phrases: {en: [blood]}, confirm: Blood?}\n"
    bad = flow_text.replace("messages:\n", rule + "messages:\n")
    assert_reported(bad, bad.line_of("fact: bleeding"), "screening: unknown fact 'bleeding'")


def test_red_flag_condition_names_unknown_fact(flow_text: FlowText) -> None:
    """A `{fact: id}` in a red-flag rule must name a declared fact: file and line say which."""
    facts = "facts:\n  - {id: bleeding, label: Bleeding}\n"
    bad = flow_text.replace("messages:\n", facts + "messages:\n")
    bad = bad.replace("{answer: age, gte: 50}", "{any: [{fact: bleeding}, {fact: bleding}]}")
    assert_reported(bad, bad.line_of("{fact: bleding}"), "unknown fact 'bleding'")


def test_facts_are_not_for_routing(flow_text: FlowText) -> None:
    """Facts are tested by red flags and modifiers only, never to pick the next step."""
    facts = "facts:\n  - {id: bleeding, label: Bleeding}\n"
    bad = flow_text.replace("messages:\n", facts + "messages:\n")
    bad = bad.replace(
        "next: symptoms", "next: [{when: {fact: bleeding}, goto: symptoms}, {goto: symptoms}]"
    )
    assert_reported(bad, bad.line_of("{fact: bleeding}, goto"), "can only be tested in red_flags")


def test_screening_phrases_for_every_language(flow_text: FlowText) -> None:
    """Free text in every language of the flow is screened, so each needs phrases."""
    rule = "facts:\n  - {id: severe_pain, label: {en: Pain, de: Schmerz}}\n"
    rule += "screening:\n  red_flags:\n    - fact: severe_pain\n      phrases: {en: [agony]}\n"
    rule += "      confirm: {en: Severe pain?, de: Starke Schmerzen?}\n"
    bad = flow_text.replace("messages:\n", rule + "messages:\n").replace(
        "languages: [en]", "languages: [en, de]"
    )
    assert_reported(bad, bad.line_of("phrases: {en"), "no phrases for language 'de'")


def test_wording_exception_names_unknown_place(flow_text: FlowText) -> None:
    """A reviewed wording exception points at an existing step, message or red flag."""
    exception = "wording_exceptions:\n  - {where: agee, phrase: x, reason: y, reviewed_by: z}\n"
    bad = flow_text.replace("messages:\n", exception + "messages:\n")
    assert_reported(bad, bad.line_of("where: agee"), "unknown place 'agee'")


def test_every_problem_is_reported_at_once(flow_text: FlowText) -> None:
    """Two independent mistakes are both reported by one load."""
    bad = flow_text.replace("next: symptoms", "next: symptom").replace("none: none", "none: nil")
    lines = {problem.line for problem in problems_of(bad)}
    assert {bad.line_of("next: symptom"), bad.line_of("none: nil")} <= lines


def test_every_screening_list_is_kept_for_every_language(flow_text: FlowText) -> None:
    """Negations kept for one language must exist for each: free text is screened in each."""
    rule = "screening:\n  negations: {en: [not]}\n"
    bad = flow_text.replace("messages:\n", rule + "messages:\n").replace(
        "languages: [en]", "languages: [en, de]"
    )
    assert_reported(
        bad, bad.line_of("negations: {en"), "screening.negations: nothing for language 'de'"
    )


def test_an_empty_text_is_a_problem(flow_text: FlowText) -> None:
    """A text written as nothing but spaces is reported where it is."""
    bad = flow_text.replace("label: Age", 'label: " "')
    assert_reported(bad, bad.line_of('label: " "'), "steps.age.label: the text is empty")


def test_a_flow_written_before_facts_still_screens_its_flags(flow_text: FlowText) -> None:
    """A stored snapshot using `flag:` phrase rules loads; its phrases raise the same flag."""
    rule = "screening:\n  red_flags:\n"
    rule += "    - {flag: severe_pain, phrases: {en: [terrible pain]}, confirm: Severe pain?}\n"
    old = flow_text.replace("messages:\n", rule + "messages:\n")
    flow = load_flow_text(old.text, file="old.yaml").flow
    facts = Screener(flow).screen("I have terrible pain", "en").facts
    assert facts == ("severe_pain",)
    assert RuleBook(flow).held({}, facts) == {"severe_pain": "same_day"}
