"""Raised red flags as FHIR R4B Observations, with the patient's words as notes.

Each raised flag becomes one Observation: its code is the flag (system
`urn:intake-bot:red-flag`, display the clinician label), its interpretation the level reached
(system `urn:intake-bot:red-flag-level`), its value the label in words, its notes the reasons
("why", modifiers included), the patient's own words with their step, source and time, and the
message the patient was shown; `derivedFrom` points at the intake's QuestionnaireResponse in
the same Bundle. The subject is the patient's Telegram identifier, as on the response.
"""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.observation import Observation

from flows.engine.format.model import Flow
from flows.engine.records.record import RaisedFlag, ReviewRecord, step_label

FLAG_SYSTEM = "urn:intake-bot:red-flag"
LEVEL_SYSTEM = "urn:intake-bot:red-flag-level"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"


def build_flag_observations(
    flow: Flow, record: ReviewRecord, response_url: str
) -> list[Observation]:
    """One Observation per raised flag of `record`."""
    return [_observation(flow, record, flag, response_url) for flag in record.red_flags]


def _observation(
    flow: Flow, record: ReviewRecord, flag: RaisedFlag, response_url: str
) -> Observation:
    label = flag.label or flag.id
    data: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "preliminary",
        "category": [{"coding": [{"system": CATEGORY, "code": "survey"}]}],
        "code": {"coding": [{"system": FLAG_SYSTEM, "code": flag.id, "display": label}]},
        "valueString": label,
        "interpretation": [{"coding": [{"system": LEVEL_SYSTEM, "code": flag.level}]}],
        "issued": flag.at or (record.ended_at or record.queued_at).isoformat(),
        "derivedFrom": [{"reference": response_url}],
        "note": _notes(flow, flag),
    }
    if record.telegram_user_id is not None:
        data["subject"] = {
            "identifier": {
                "system": "urn:intake-bot:telegram-user-id",
                "value": str(record.telegram_user_id),
            }
        }
    if not data["note"]:
        del data["note"]
    return Observation.model_validate(data)


def _notes(flow: Flow, flag: RaisedFlag) -> list[dict[str, Any]]:
    notes: list[dict[str, Any]] = [{"text": f"Why: {why}"} for why in flag.why]
    for entry in flag.evidence:
        if entry.get("source") == "checklist":
            continue
        where = step_label(flow, str(entry.get("step"))) if entry.get("step") else "-"
        note: dict[str, Any] = {
            "text": f'Patient\'s words ({entry.get("source")} at {where}): "{entry.get("words")}"'
        }
        if entry.get("at"):
            note["time"] = entry["at"]
        notes.append(note)
    if flag.shown:
        notes.append({"text": f"Shown to the patient: {flag.shown}"})
    return notes
