"""Tests of the FHIR mapping: Questionnaire from a flow, QuestionnaireResponse per intake."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from pydantic import ValidationError

from flows.engine.format.model import Flow
from flows.engine.records.fhir import (
    build_bundle,
    build_questionnaire,
    build_response,
    check_response,
    to_json,
)
from flows.engine.records.record import ReviewRecord
from tests.flows.review_seed import bundled_flow, complete_answers
from tests.flows.sample_flow import sample_answers, sample_flow, sample_flow_data


def record(flow: Flow, intake_status: str = "completed") -> ReviewRecord:
    """A review record for an intake of `flow`."""
    return ReviewRecord(
        item_id=1,
        intake_id=2,
        priority="routine",
        status="pending",
        red_flags=(),
        flow_id=flow.id,
        flow_version=flow.version,
        intake_status=intake_status,
        queued_at=datetime(2026, 11, 25, 19, 0, tzinfo=UTC),
        ended_at=datetime(2026, 11, 25, 18, 59, tzinfo=UTC),
        telegram_user_id=777,
    )


def test_bundled_flow_complete_intake_exports_valid_fhir() -> None:
    """A complete intake of the bundled flow gives a Questionnaire and response that re-validate."""
    flow = bundled_flow()
    answers = complete_answers(flow)
    bundle = build_bundle(flow, record(flow), answers)
    parsed = Bundle.model_validate_json(to_json(bundle))
    assert parsed.entry is not None
    questionnaire, response = (entry.resource for entry in parsed.entry)
    assert isinstance(questionnaire, Questionnaire)
    assert isinstance(response, QuestionnaireResponse)
    assert check_response(questionnaire, response) == []
    questions = [sid for sid, step in flow.steps.items() if step.is_question]
    assert [i.linkId for i in questionnaire.item or []] == questions
    assert [i.linkId for i in response.item or []] == [q for q in questions if q in answers]
    assert response.status == "completed"
    assert response.questionnaire == f"urn:intake-bot:questionnaire:gut_health|{flow.version}"


def test_item_types_follow_answer_kinds() -> None:
    """Each answer kind maps to its FHIR item type; multi repeats; choices carry options."""
    items = {i.linkId: i for i in build_questionnaire(sample_flow()).item or []}
    types = {sid: item.type for sid, item in items.items()}
    assert types == {
        "consent": "choice",
        "age": "integer",
        "vomit_blood": "boolean",
        "main_concern": "text",
        "concern_duration": "quantity",
        "gi_symptoms": "choice",
        "bloating_severity": "integer",
        "bloating_frequency": "choice",
        "nsaids": "boolean",
        "family_history": "choice",
        "goals": "text",
    }
    assert items["gi_symptoms"].repeats is True
    assert not items["bloating_frequency"].repeats
    options = items["bloating_frequency"].answerOption or []
    assert [(o.valueCoding.code, o.valueCoding.display) for o in options] == [
        ("daily", "Every day"),
        ("weekly", "Every week"),
        ("rarely", "Rarely"),
    ]
    bounds = [e.valueInteger for e in items["age"].extension or []]
    assert bounds == [16, 110]


def test_response_values_are_typed() -> None:
    """Answers become codings, integers, booleans, strings and day quantities."""
    flow = sample_flow()
    response = build_response(flow, record(flow), sample_answers())
    answers = {i.linkId: i.answer or [] for i in response.item or []}
    assert [a.valueCoding.code for a in answers["gi_symptoms"]] == ["bloating", "diarrhoea"]
    assert answers["gi_symptoms"][0].valueCoding.display == "Bloating"
    assert answers["age"][0].valueInteger == 52
    assert answers["nsaids"][0].valueBoolean is True
    assert answers["vomit_blood"][0].valueBoolean is False
    assert answers["main_concern"][0].valueString == "Bloating after every meal"
    quantity = answers["concern_duration"][0].valueQuantity
    assert (quantity.value, quantity.code) == (21, "d")
    assert response.source is not None
    assert response.source.identifier.value == "777"


def test_escalated_intake_is_stopped() -> None:
    """An intake ended by an emergency escalation exports as a stopped response."""
    flow = sample_flow()
    response = build_response(flow, record(flow, "escalated"), {"consent": "agree", "age": 40})
    assert response.status == "stopped"
    assert [i.linkId for i in response.item or []] == ["consent", "age"]


def test_check_response_finds_mismatches() -> None:
    """A response with an unknown linkId, a wrong type or an unknown code is reported."""
    flow = sample_flow()
    questionnaire = build_questionnaire(flow)
    response = build_response(flow, record(flow), sample_answers())
    data = json.loads(to_json(response))
    data["item"].append({"linkId": "nope", "answer": [{"valueString": "x"}]})
    for item in data["item"]:
        if item["linkId"] == "age":
            item["answer"] = [{"valueString": "fifty"}]
        if item["linkId"] == "bloating_frequency":
            item["answer"] = [{"valueCoding": {"code": "hourly"}}]
    broken = QuestionnaireResponse.model_validate(data)
    problems = check_response(questionnaire, broken)
    assert problems == [
        "age: answer is not of type integer",
        "bloating_frequency: code 'hourly' is not an option",
        "nope: no such item in the questionnaire",
    ]


def test_models_reject_malformed_resources() -> None:
    """The fhir.resources models refuse a response without its required status."""
    with pytest.raises(ValidationError):
        QuestionnaireResponse.model_validate({"resourceType": "QuestionnaireResponse"})


def test_ask_when_becomes_enable_when() -> None:
    """The bundled flow's conditional questions carry enableWhen entries typed by their target."""
    items = {i.linkId: i for i in build_questionnaire(bundled_flow()).item or []}
    bloating = items["bloating_severity"].enableWhen or []
    assert [(e.question, e.operator, e.answerCoding.code) for e in bloating] == [
        ("digestive", "=", "bloating")
    ]
    onset = (items["onset_after_50"].enableWhen or [])[0]
    assert (onset.question, onset.operator, onset.answerInteger) == ("age", ">=", 50)
    pregnant = items["pregnant"]
    assert pregnant.enableBehavior == "all"
    assert [(e.question, e.operator) for e in pregnant.enableWhen or []] == [
        ("sex_at_birth", "!="),
        ("age", "<"),
    ]
    assert items["consent"].enableWhen is None


def test_conditions_fhir_cannot_say_are_left_out() -> None:
    """A nested condition gets no enableWhen rather than a wrong one."""
    data = sample_flow_data()
    data["steps"]["goals"]["ask_when"] = {
        "any": [
            {"all": [{"answer": "age", "gte": 50}, {"answer": "nsaids", "equals": "yes"}]},
            {"answer": "vomit_blood", "equals": "yes"},
        ]
    }
    data["steps"]["nsaids"]["ask_when"] = {"answer": "age", "in": [40, 50]}
    items = {i.linkId: i for i in build_questionnaire(Flow.model_validate(data)).item or []}
    assert items["goals"].enableWhen is None
    in_list = items["nsaids"]
    assert [e.answerInteger for e in in_list.enableWhen or []] == [40, 50]
    assert in_list.enableBehavior == "any"


def test_check_response_flags_answers_to_disabled_questions() -> None:
    """An answer to a question whose enableWhen is false is reported."""
    flow = bundled_flow()
    answers = complete_answers(flow)
    assert {"bloating_severity", "bloating_frequency"} <= set(answers)
    answers["digestive"] = ["pain"]
    response = build_response(flow, record(flow), answers)
    problems = check_response(build_questionnaire(flow), response)
    assert problems == [
        "bloating_severity: answered although its enableWhen is false",
        "bloating_frequency: answered although its enableWhen is false",
    ]
