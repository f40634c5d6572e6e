"""FHIR mapping: a Questionnaire generated from a flow and a QuestionnaireResponse per intake.

Resources are built and validated with `fhir.resources`. Its 8.x releases ship R5 at the top
level and R4B in `fhir.resources.R4B`; Questionnaire and QuestionnaireResponse did not change
between R4 (4.0.1) and R4B (4.3.0), so the R4B models give R4-shaped JSON. Every question step
is one item whose linkId is the step id. Kinds map as: choice -> choice with answerOption,
multi -> choice that repeats, scale and number -> integer, yes_no -> boolean, text -> text,
duration -> quantity in days (UCUM `d`). `check_response` checks a response against its
questionnaire beyond what the models check (linkIds, answer types, option codes).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from flows.engine.model import Flow, NumberAnswer, Step, TextAnswer
from flows.engine.record import ReviewRecord, step_label

FHIR_RELEASE = "4.3.0"
UCUM = "http://unitsofmeasure.org"
MIN_VALUE = "http://hl7.org/fhir/StructureDefinition/minValue"
MAX_VALUE = "http://hl7.org/fhir/StructureDefinition/maxValue"
ITEM_TYPES = {
    "choice": "choice",
    "multi": "choice",
    "scale": "integer",
    "number": "integer",
    "yes_no": "boolean",
    "text": "text",
    "duration": "quantity",
}
VALUE_KEYS = {
    "choice": "valueCoding",
    "integer": "valueInteger",
    "boolean": "valueBoolean",
    "text": "valueString",
    "quantity": "valueQuantity",
}


def questionnaire_url(flow_id: str) -> str:
    """The canonical URL of the questionnaire of a flow."""
    return f"urn:intake-bot:questionnaire:{flow_id}"


def build_questionnaire(flow: Flow) -> Questionnaire:
    """The flow as a FHIR Questionnaire, one item per question step."""
    items = [
        _question_item(flow, sid, step) for sid, step in flow.steps.items() if step.is_question
    ]
    return Questionnaire.model_validate(
        {
            "resourceType": "Questionnaire",
            "url": questionnaire_url(flow.id),
            "version": str(flow.version),
            "name": flow.id,
            "title": flow.text(flow.title),
            "status": "active",
            "subjectType": ["Patient"],
            "item": items,
        }
    )


def build_response(
    flow: Flow, record: ReviewRecord, answers: Mapping[str, Any]
) -> QuestionnaireResponse:
    """One intake's answers as a QuestionnaireResponse (stopped when it was escalated)."""
    items = []
    for sid, step in flow.steps.items():
        if step.is_question and answers.get(sid) is not None:
            entries = _answers(flow, step, answers[sid])
            if entries:
                items.append({"linkId": sid, "text": step_label(flow, sid), "answer": entries})
    data: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "identifier": {"system": "urn:intake-bot:intake", "value": str(record.intake_id)},
        "questionnaire": f"{questionnaire_url(flow.id)}|{flow.version}",
        "status": "completed" if record.intake_status == "completed" else "stopped",
        "authored": (record.ended_at or record.queued_at).isoformat(),
        "item": items,
    }
    if record.telegram_user_id is not None:
        data["source"] = {
            "type": "Patient",
            "identifier": {
                "system": "urn:intake-bot:telegram-user-id",
                "value": str(record.telegram_user_id),
            },
        }
    return QuestionnaireResponse.model_validate(data)


def build_bundle(flow: Flow, record: ReviewRecord, answers: Mapping[str, Any]) -> Bundle:
    """A collection Bundle holding the flow's Questionnaire and the intake's response."""
    resources = [build_questionnaire(flow), build_response(flow, record, answers)]
    return Bundle.model_validate(
        {
            "resourceType": "Bundle",
            "type": "collection",
            "timestamp": record.queued_at.isoformat(),
            "entry": [{"resource": r} for r in resources],
        }
    )


def to_json(resource: Questionnaire | QuestionnaireResponse | Bundle) -> str:
    """A resource as FHIR JSON (absent elements left out)."""
    return str(resource.model_dump_json(exclude_none=True, indent=2))


def check_response(questionnaire: Questionnaire, response: QuestionnaireResponse) -> list[str]:
    """Problems of a response against its questionnaire: linkIds, answer types, option codes."""
    items = {item.linkId: item for item in questionnaire.item or []}
    problems = []
    for answered in response.item or []:
        item = items.get(answered.linkId)
        if item is None:
            problems.append(f"{answered.linkId}: no such item in the questionnaire")
            continue
        entries = answered.answer or []
        if len(entries) > 1 and not item.repeats:
            problems.append(f"{answered.linkId}: several answers to an item that does not repeat")
        key = VALUE_KEYS.get(item.type or "", "")
        codes = {o.valueCoding.code for o in item.answerOption or [] if o.valueCoding}
        for entry in entries:
            value = getattr(entry, key, None)
            if value is None:
                problems.append(f"{answered.linkId}: answer is not of type {item.type}")
            elif item.type == "choice" and value.code not in codes:
                problems.append(f"{answered.linkId}: code '{value.code}' is not an option")
    return problems


def _question_item(flow: Flow, step_id: str, step: Step) -> dict[str, Any]:
    item: dict[str, Any] = {
        "linkId": step_id,
        "text": flow.text(step.prompt),
        "type": ITEM_TYPES[step.kind],
    }
    if step.label is not None:
        item["prefix"] = flow.text(step.label)
    options = getattr(step.answer, "options", None)
    if options:
        item["answerOption"] = [
            {"valueCoding": {"code": o.value, "display": flow.text(o.label)}} for o in options
        ]
    if step.kind == "multi":
        item["repeats"] = True
    if isinstance(step.answer, TextAnswer):
        item["maxLength"] = step.answer.max_length
    bounds = (0, 10) if step.kind == "scale" else None
    if isinstance(step.answer, NumberAnswer):
        bounds = (step.answer.min, step.answer.max)
    if bounds is not None:
        item["extension"] = [
            {"url": MIN_VALUE, "valueInteger": bounds[0]},
            {"url": MAX_VALUE, "valueInteger": bounds[1]},
        ]
    return item


def _answers(flow: Flow, step: Step, value: Any) -> list[dict[str, Any]]:
    kind = step.kind
    if kind in ("choice", "multi"):
        labels = {o.value: flow.text(o.label) for o in getattr(step.answer, "options", [])}
        values = [str(v) for v in (value if isinstance(value, list) else [value])]
        return [{"valueCoding": {"code": v, "display": labels[v]}} for v in values if v in labels]
    if kind in ("scale", "number"):
        return [{"valueInteger": int(value)}]
    if kind == "yes_no":
        return [{"valueBoolean": value in ("yes", True)}]
    if kind == "duration":
        return [
            {"valueQuantity": {"value": int(value), "unit": "days", "system": UCUM, "code": "d"}}
        ]
    return [{"valueString": str(value)}]
