"""Tests of the JSON and CSV export rows of review items."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from datetime import UTC, datetime

from flows.engine.records.export import CSV_COLUMNS, csv_rows, export_record, item_row, write_csv
from flows.engine.records.record import RaisedFlag, ReviewRecord
from tests.flows.sample_flow import sample_answers, sample_flow

RECORD = ReviewRecord(
    item_id=3,
    intake_id=8,
    priority="soon",
    status="claimed",
    red_flags=(RaisedFlag("family_history", "soon"), RaisedFlag("nsaid_flag", "same_day")),
    flow_id="sample",
    flow_version=3,
    intake_status="completed",
    queued_at=datetime(2026, 11, 25, 10, 0, tzinfo=UTC),
    telegram_user_id=99,
    display_name="Bo",
    claimed_by="Dr A",
)


def test_item_row_has_the_listing_fields() -> None:
    """A listing row carries ids, priority, status, Telegram id, ISO UTC time and flags."""
    row = item_row(RECORD)
    assert row["id"] == 3
    assert row["intake_id"] == 8
    assert (row["priority"], row["status"], row["telegram_user_id"]) == ("soon", "claimed", 99)
    assert datetime.fromisoformat(row["created_at"]) == RECORD.queued_at
    assert row["created_at"].endswith("+00:00")
    assert row["red_flags"] == [
        {"id": "family_history", "level": "soon"},
        {"id": "nsaid_flag", "level": "same_day"},
    ]
    assert "answers" not in row
    json.dumps(row)


def test_export_record_holds_answers_with_labels() -> None:
    """The JSON export lists each answer with step id, label, stored value and words."""
    data = export_record(sample_flow(), RECORD, sample_answers())
    by_step = {a["step_id"]: a for a in data["answers"]}
    assert by_step["gi_symptoms"] == {
        "step_id": "gi_symptoms",
        "label": "Digestive symptoms",
        "value": ["bloating", "diarrhoea"],
        "text": "Bloating, Diarrhoea",
    }
    assert by_step["concern_duration"]["text"] == "3 weeks"
    assert [a["step_id"] for a in data["answers"]][:3] == ["consent", "age", "vomit_blood"]
    assert data["telegram_name"] == "Bo"
    json.dumps(data)


def test_csv_has_one_row_per_answer_and_round_trips() -> None:
    """CSV export is long: one row per answer under the fixed header, readable back."""
    text = write_csv(csv_rows(sample_flow(), RECORD, sample_answers()))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == len(sample_answers()) + len(RECORD.red_flags)
    assert [r["step_id"] for r in rows[:2]] == ["red_flag:family_history", "red_flag:nsaid_flag"]
    symptoms = next(r for r in rows if r["step_id"] == "gi_symptoms")
    assert symptoms["value"] == "bloating;diarrhoea"
    assert symptoms["red_flags"] == "family_history:soon;nsaid_flag:same_day"
    assert symptoms["item_id"] == "3"


def test_csv_keeps_an_item_without_answers() -> None:
    """An intake whose answers were erased still has one CSV row."""
    rows = csv_rows(sample_flow(), replace(RECORD, red_flags=()), {})
    assert len(rows) == 1
    assert rows[0]["item_id"] == "3"
    assert rows[0]["step_id"] == ""


def test_csv_defuses_spreadsheet_formulas_in_patient_text() -> None:
    """Free text starting like a formula is written with a leading apostrophe."""
    answers = {**sample_answers(), "main_concern": '=HYPERLINK("http://x")', "goals": "@cmd"}
    rows = {r["step_id"]: r for r in csv_rows(sample_flow(), RECORD, answers)}
    assert rows["main_concern"]["value"] == '\'=HYPERLINK("http://x")'
    assert rows["goals"]["text"] == "'@cmd"
    assert rows["age"]["value"] == "52"
