"""A flag raised from free text reaches the clinician with the patient's own words.

A patient types a same-day red flag as their main concern in the terminal chat (the real
intake service on a sealed SQLite file); the clinician then reads it with `intake-bot review
show` and exports it with `intake-bot review export --format fhir`, both through the CLI. The
words travel inside the session state and the review item's flags, the two blobs sealed at
rest as wholes.
"""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation
from typer.testing import CliRunner

from bot.cli import app
from bot.composition import build_services
from bot.terminal import TerminalChat
from flows.engine.loading.loader import LoadedFlow
from storage.sealing import new_key
from tests.conftest import make_settings

ROUTINE = [  # a routine intake typed line by line; the main concern is the 10th line
    "I agree", "34", "Female", "No", "None of these", "never", "no", "none of these",
    "None of these", "Bloating mostly", "6 months", "1, 2", "6", "weekly", "5", "weekly",
    "lower", "tiredness, brain fog", "6", "4", "monthly", "one_two", "most_days", "7", "badly",
    "no", "no", "/skip", "not_sure", "none", "none", "none",
    "I want to understand what is going on", "/skip", "submit",
]  # fmt: skip
WORDS = "for two weeks the whites of my eyes have gone yellow"


def test_free_text_flag_shows_the_patients_words_in_review_show_and_fhir(
    tmp_path: Path, bundled_flow: LoadedFlow
) -> None:
    """`review show` and the FHIR export carry the flag with its words, why and level."""
    key = new_key()
    url = f"sqlite:///{tmp_path / 'intake.db'}"
    services = build_services(make_settings(url, encryption_key=key), active=bundled_flow)
    lines = list(ROUTINE)
    lines[9] = f"Bloating mostly, and {WORDS}"  # the main concern
    TerminalChat(services.intake, out=StringIO()).run([f"{line}\n" for line in lines], echo=False)
    services.close()

    env = {"INTAKE_DATABASE_URL": url, "INTAKE_ENCRYPTION_KEY": key}
    runner = CliRunner()
    listed = runner.invoke(app, ["review", "list", "--json"], env=env, catch_exceptions=False)
    [item] = json.loads(listed.stdout)
    assert item["priority"] == "same_day"

    show = runner.invoke(app, ["review", "show", str(item["id"])], env=env)
    assert show.exit_code == 0
    assert "SAME DAY: Jaundice (yellow skin or eyes)" in show.stdout
    assert f'patient\'s words: "and {WORDS}"' in show.stdout
    assert "(typed at Main concern," in show.stdout

    exported = runner.invoke(
        app, ["review", "export", str(item["id"]), "--format", "fhir"], env=env
    )
    bundle = Bundle.model_validate_json(exported.stdout)
    observations = [e.resource for e in bundle.entry or [] if isinstance(e.resource, Observation)]
    [flag] = observations
    assert flag.code.coding[0].code == "jaundice"
    assert flag.interpretation[0].coding[0].code == "same_day"
    notes = [n.text for n in flag.note or []]
    assert any(WORDS in note and "Main concern" in note for note in notes)
    assert any(note.startswith("Why: Yellow skin or eyes") for note in notes)
    assert flag.derivedFrom[0].reference == bundle.entry[1].fullUrl
