"""`intake-bot patient`: answering an access request (export) and an erasure request (delete)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from bot.cli import app
from storage.sealing import new_key
from tests.flows.review_seed import bundled_flow, complete_answers, open_database, seed_intake

PATIENT = 5_246_813_579


def test_export_then_delete_a_patient(tmp_path: Path) -> None:
    """The export holds the identity, every intake with answers, the review with its note and
    the audit trail, in a file only its owner reads; delete erases it and says what to tell."""
    key = new_key()
    database = open_database(tmp_path, key=key)
    flow = bundled_flow()
    words = {"source": "free_text", "step": "concern", "at": "2026-11-01T10:00:00+00:00",
             "words": "my eyes have gone yellow"}  # fmt: skip
    flags = [{"id": "jaundice", "level": "same_day", "evidence": [words]}]
    item = seed_intake(
        database,
        user=PATIENT,
        priority="same_day",
        flags=flags,
        flow=flow,
        answers=complete_answers(flow),
        name="Noor Haddad",
    )
    env = {"INTAKE_DATABASE_URL": database.url, "INTAKE_ENCRYPTION_KEY": key}
    runner = CliRunner()
    runner.invoke(app, ["review", "done", str(item), "--note", "booked", "--as", "Dr A"], env=env)
    target = tmp_path / "request.json"
    args = ["patient", "export", "--telegram-id", str(PATIENT), "-o", str(target), "--as", "Dr A"]
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 0, result.stderr
    assert target.stat().st_mode & 0o777 == 0o600
    found = json.loads(target.read_text())
    assert (found["telegram_user_id"], found["telegram_name"]) == (PATIENT, "Noor Haddad")
    [intake] = found["intakes"]
    assert {a["step_id"] for a in intake["answers"]} >= {"consent", "age"}
    assert intake["review"]["note"] == "booked"
    [flag] = intake["review"]["red_flags"]
    assert (flag["id"], flag["level"], flag["evidence"]) == ("jaundice", "same_day", [words])
    assert "review.reviewed" in [e["action"] for e in found["audit_events"]]
    assert "Telegram also keeps" in found["telegram"]

    refused = runner.invoke(app, ["patient", "delete", "--telegram-id", str(PATIENT)], env=env)
    assert refused.exit_code == 2
    deleted = runner.invoke(
        app, ["patient", "delete", "--telegram-id", str(PATIENT), "--yes"], env=env
    )
    assert deleted.exit_code == 0
    assert deleted.stdout.startswith("erased: sessions=1 review_items=1")
    assert "tell the patient: Done." in deleted.stdout
    again = runner.invoke(app, ["patient", "export", "--telegram-id", str(PATIENT)], env=env)
    assert again.exit_code == 1
    assert "nothing is stored about this Telegram user id" in again.stderr
    database.dispose()
