"""FHIR mapping: a Questionnaire generated from a flow and a QuestionnaireResponse per intake.

Resources are built and validated with `fhir.resources`. Its 8.x releases ship R5 at the top
level and R4B in `fhir.resources.R4B`; Questionnaire and QuestionnaireResponse did not change
between R4 (4.0.1) and R4B (4.3.0), so the R4B models give R4-shaped JSON. Every question step
is one item whose linkId is the step id. Kinds map as: choice -> choice with answerOption,
multi -> choice that repeats, scale and number -> integer, yes_no -> boolean, text -> text,
duration -> quantity in days (UCUM `d`). `ask_when` becomes `enableWhen` (see
`flows.engine.records.fhir_conditions`). `check_response` checks a response against its
questionnaire beyond what the models check (linkIds, answer types, option codes, enableWhen).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import NAMESPACE_URL, uuid5

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from flows.engine.format.model import Flow
from flows.engine.format.steps import NumberAnswer, Step, TextAnswer
from flows.engine.records.fhir_conditions import answer_value, enable_when, enabled, plain
from flows.engine.records.fhir_flags import build_flag_observations
from flows.engine.records.record import ReviewRecord, step_label

FHIR_RELEASE = "4.3.0"
FHIR_STATUS = {"completed": "completed", "in_progress": "in-progress"}  # else: stopped
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


def item_types(flow: Flow) -> dict[str, str]:
    """The FHIR item type of each question step, by step id."""
    return {sid: ITEM_TYPES[step.kind] for sid, step in flow.steps.items() if step.is_question}


def questionnaire_url(flow_id: str) -> str:
    """The canonical URL of the questionnaire of a flow."""
    return f"urn:intake-bot:questionnaire:{flow_id}"


def build_questionnaire(flow: Flow) -> Questionnaire:
    """The flow as a FHIR Questionnaire, one item per question step (`ask_when` as enableWhen)."""
    types = item_types(flow)
    items = [_question_item(flow, sid, flow.steps[sid], types) for sid in types]
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
        "status": FHIR_STATUS.get(record.intake_status, "stopped"),
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
    """A collection Bundle: the flow's Questionnaire, the intake's response, and one
    Observation per raised red flag (with the patient's words)."""
    response_url = f"urn:uuid:{uuid5(NAMESPACE_URL, f'intake-bot:response:{record.intake_id}')}"
    resources: list[Any] = [build_questionnaire(flow), build_response(flow, record, answers)]
    resources += build_flag_observations(flow, record, response_url)
    urls = [None, response_url, *(None for _ in resources[2:])]
    return Bundle.model_validate(
        {
            "resourceType": "Bundle",
            "type": "collection",
            "timestamp": record.queued_at.isoformat(),
            "entry": [
                {"resource": r, **({"fullUrl": u} if u else {})}
                for r, u in zip(resources, urls, strict=True)
            ],
        }
    )


def to_json(resource: Questionnaire | QuestionnaireResponse | Bundle) -> str:
    """A resource as FHIR JSON (absent elements left out)."""
    return str(resource.model_dump_json(exclude_none=True, indent=2))


def check_response(questionnaire: Questionnaire, response: QuestionnaireResponse) -> list[str]:
    """Problems of a response against its questionnaire: linkIds, types, codes, enableWhen."""
    items = {item.linkId: item for item in questionnaire.item or []}
    given = _given(response)
    problems = []
    for answered in response.item or []:
        item = items.get(answered.linkId)
        if item is None:
            problems.append(f"{answered.linkId}: no such item in the questionnaire")
            continue
        if item.enableWhen and not _enabled(item, given):
            problems.append(f"{answered.linkId}: answered although its enableWhen is false")
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


def _given(response: QuestionnaireResponse) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for item in response.item or []:
        for entry in item.answer or []:
            data = entry.model_dump(exclude_none=True)
            value = next((v for k, v in data.items() if k.startswith("value")), None)
            found.setdefault(item.linkId or "", []).append(plain(value))
    return found


def _enabled(item: Any, given: Mapping[str, list[Any]]) -> bool:
    entries = [e.model_dump(exclude_none=True) for e in item.enableWhen]
    return enabled(entries, item.enableBehavior, given)


def _question_item(
    flow: Flow, step_id: str, step: Step, types: Mapping[str, str]
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "linkId": step_id,
        "text": flow.text(step.prompt),
        "type": types[step_id],
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
    if step.ask_when is not None:
        entries, behavior = enable_when(step.ask_when, types)
        if entries:
            item["enableWhen"] = entries
        if behavior is not None and len(entries) > 1:
            item["enableBehavior"] = behavior
    return {**item, **_constraints(step)}


def _constraints(step: Step) -> dict[str, Any]:
    if isinstance(step.answer, TextAnswer):
        return {"maxLength": step.answer.max_length}
    bounds = (0, 10) if step.kind == "scale" else None
    if isinstance(step.answer, NumberAnswer):
        bounds = (step.answer.min, step.answer.max)
    if bounds is None:
        return {}
    return {
        "extension": [
            {"url": MIN_VALUE, "valueInteger": bounds[0]},
            {"url": MAX_VALUE, "valueInteger": bounds[1]},
        ]
    }


def _answers(flow: Flow, step: Step, value: Any) -> list[dict[str, Any]]:
    kind = ITEM_TYPES[step.kind]
    if kind != "choice":
        return [answer_value(kind, value, prefix="value")]
    labels = {o.value: flow.text(o.label) for o in getattr(step.answer, "options", [])}
    values = [str(v) for v in (value if isinstance(value, list) else [value])]
    return [{"valueCoding": {"code": v, "display": labels[v]}} for v in values if v in labels]
