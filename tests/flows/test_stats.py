"""Intake statistics: simulated patients through the real service, then `intake-bot stats`.

Three patients (one completes, one goes quiet at a known step, one raises an emergency) must
come out of `stats --json` as exactly those counts, on SQLite and on PostgreSQL. The turn
writes one counting statement at most; nothing in the counts names a patient.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli import app
from bot.composition import Services, build_services
from bot.terminal import TerminalChat
from flows.engine.loading.loader import LoadedFlow
from storage.intake_counts import COLUMNS
from storage.tables import IntakeCount, IntakeSession, utcnow
from tests.conftest import make_settings
from tests.flows.typed_patients import EMERGENCY, ROUTINE
from tests.storage.driver_trace import traced
from tests.storage.postgres import URL as POSTGRES_URL
from tests.storage.postgres import fresh_schema

QUIET_AFTER = ["I agree", "34", "Female", "No", "None of these", "never", "no"]  # then silence
QUIET_STEP = "urgent_today"
runner = CliRunner()


@pytest.fixture(params=["sqlite", "postgres"])
def stats_services(
    request: pytest.FixtureRequest, tmp_path: Path, bundled_flow: LoadedFlow
) -> Iterator[tuple[Services, str]]:
    """The services on SQLite, and on PostgreSQL when the test server is there."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'stats.db'}"
        built = build_services(make_settings(url), active=bundled_flow)
        yield built, url
        built.close()
        return
    if not POSTGRES_URL:
        pytest.skip("INTAKE_TEST_POSTGRES_URL is not set")
    with fresh_schema("stats") as url:
        built = build_services(make_settings(url), active=bundled_flow)
        yield built, url
        built.close()


def chat(services: Services, user: int, lines: list[str]) -> str:
    """One patient's intake in the terminal chat."""
    out = io.StringIO()
    TerminalChat(services.intake, out=out, user_id=user).run([f"{line}\n" for line in lines])
    return out.getvalue()


def simulate(services: Services) -> None:
    """A completed intake, one gone quiet at QUIET_STEP two days ago, and an emergency."""
    chat(services, 1, ROUTINE)
    chat(services, 2, QUIET_AFTER)
    chat(services, 3, EMERGENCY)
    with services.database.transaction() as tx:
        two_days_ago = utcnow() - timedelta(days=2)
        quiet = update(IntakeSession).where(IntakeSession.status == "active")
        tx.execute(quiet.values(updated_at=two_days_ago))


def stats_json(url: str, *args: str) -> dict[str, Any]:
    """`intake-bot stats --json` on the database at `url`."""
    result = runner.invoke(app, ["stats", "--json", "--db", url, *args])
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def test_stats_after_simulated_patients(stats_services: tuple[Services, str]) -> None:
    """Completed, abandoned at a known step, escalated: exactly those counts."""
    services, url = stats_services
    simulate(services)

    report = stats_json(url)
    assert report["flow"] == "gut_health"
    assert (report["started"], report["consented"], report["completed"]) == (3, 3, 1)
    assert report["escalated"] == {"emergency": 1, "same_day": 0, "soon": 0}
    assert (report["abandoned"], report["cancelled"], report["in_progress"]) == (1, 0, 0)
    steps = {step["id"]: step for step in report["steps"]}
    assert [s["id"] for s in report["steps"]][:3] == ["consent", "age", "sex_at_birth"]
    assert steps["consent"] == {
        "id": "consent", "reached": 3, "answered": 3, "skipped": 0, "dropped": 0,
        "escalated": 0, "back": 0, "median_s": None,
    }  # fmt: skip
    assert steps["urgent_now"]["escalated"] == 1
    assert steps[QUIET_STEP]["reached"] == 2
    assert steps[QUIET_STEP]["answered"] == 1
    assert steps[QUIET_STEP]["dropped"] == 1
    assert [s["id"] for s in report["steps"] if s["dropped"]] == [QUIET_STEP]
    assert steps["urgent_now"]["reached"] == 3  # the emergency was raised there
    assert steps["submitted"]["reached"] == 1
    assert steps["age"]["median_s"] is not None
    assert report["complete_median_s"] is not None
    assert [v["version"] for v in report["versions"]] == [services.registry.active.version]
    assert report["versions"][0]["completed"] == 1


def test_a_quiet_intake_is_in_progress_until_the_idle_limit(
    stats_services: tuple[Services, str],
) -> None:
    """Under the idle limit an unfinished intake is in progress, not dropped."""
    services, url = stats_services
    chat(services, 2, QUIET_AFTER)

    report = stats_json(url)
    assert (report["in_progress"], report["abandoned"]) == (1, 0)
    assert all(step["dropped"] == 0 for step in report["steps"])
    assert stats_json(url, "--idle-hours", "0")["abandoned"] == 1


def test_since_counts_from_that_day(stats_services: tuple[Services, str]) -> None:
    """--since tomorrow counts nothing; --since today counts today's intakes."""
    services, url = stats_services
    chat(services, 1, EMERGENCY)
    today = utcnow().date()

    assert stats_json(url, "--since", str(today + timedelta(days=1)))["started"] == 0
    assert stats_json(url, "--since", str(today))["started"] == 1


def test_back_skip_decline_and_restart_are_counted(services: Services, database_url: str) -> None:
    """Back presses, skips, a declined consent and a restart land where they happened."""
    chat(services, 1, ["I agree", "40", "/back", "41", "/skip"])  # skips sex_at_birth
    chat(services, 2, ["No, thanks"])  # declined: nothing stored but the counts
    chat(services, 3, ["I agree", "/restart"])  # the second /start is in TerminalChat.run

    report = stats_json(database_url)
    steps = {step["id"]: step for step in report["steps"]}
    assert steps["sex_at_birth"]["back"] == 1
    assert steps["sex_at_birth"]["skipped"] == 1
    assert steps["age"]["answered"] == 1  # answered twice (before and after /back): one intake
    assert steps["age"]["reached"] == 2
    assert (report["declined"], report["cancelled"]) == (1, 1)
    assert steps["age"]["dropped"] == 1  # where the restarted intake stopped
    assert steps["declined"]["reached"] == 1
    assert report["started"] == 4  # three /start and one /restart


def test_a_turn_writes_one_counting_statement_at_most(services: Services) -> None:
    """Counting adds one INSERT .. ON CONFLICT to a turn (run once per counted row, in one
    driver call); a turn counting nothing adds none."""
    chat(services, 1, ["I agree"])
    with traced(services.database.engine) as statements:
        chat(services, 1, ["40"])  # /start (resume: nothing counted), then an answer
    counting = [s for s in statements if "intake_counts" in s]
    assert counting
    assert {s.split(" VALUES ")[0] for s in counting} == {
        "INSERT INTO intake_counts (period, day, flow_id, flow_version, step_id, "
        + ", ".join(COLUMNS)
        + ")"
    }
    assert all(" ON CONFLICT " in s for s in counting)


def test_counts_hold_no_patient_data(services: Services) -> None:
    """Count rows hold a day, a flow version, a step id and numbers: nothing else."""
    chat(services, 1, ROUTINE)
    with services.database.transaction() as tx:
        rows = tx.exec(select(IntakeCount)).all()
    assert rows
    for row in rows:
        values = row.model_dump()
        assert {k for k, v in values.items() if not isinstance(v, int)} == {
            "period", "day", "flow_id", "step_id",
        }  # fmt: skip
        assert row.step_id == "" or row.step_id in services.registry.active.steps
