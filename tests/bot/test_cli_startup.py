"""The console script imports only what the command it runs needs (start-up time).

Each probe runs `intake-bot` in a fresh interpreter and reads `sys.modules` afterwards.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bot.cli import COMMANDS, app, build_app
from storage.sealing import new_key
from tests.flows.review_seed import bundled_flow, complete_answers, open_database, seed_intake

PROBE = """
import sys
sys.argv = ["intake-bot", *sys.argv[1:]]
from bot.cli import main
try:
    main()
except SystemExit:
    pass
print("LOADED", ",".join(sorted(sys.modules)))
"""
HEAVY = ("telegram", "aiohttp", "fhir", "tornado")
# what a listing does not need: migrations tooling on a database at head, the flow model and
# its YAML loader, the conversation engine and its fuzzy matching, tables for an empty list
NOT_FOR_A_LISTING = (
    "alembic",
    "mako",
    "ruamel",
    "flows.engine.format.fields",  # every part of the flow model imports it
    "flows.engine.conversation.turns",
    "transitions",
    "rapidfuzz",
    "rich",
)


def loaded(tmp_path: Path, *args: str, url: str = "", key: str = "") -> set[str]:
    """The modules `intake-bot <args>` imported, run in a fresh interpreter."""
    env = {
        "INTAKE_DATABASE_URL": url or f"sqlite:///{tmp_path / 'cli.db'}",
        "PATH": "/usr/bin:/bin",
    }
    if key:
        env["INTAKE_ENCRYPTION_KEY"] = key
    env["INTAKE_FLOW_CACHE_DIR"] = str(tmp_path / "cache")
    run = [sys.executable, "-c", PROBE, *args]
    result = subprocess.run(run, capture_output=True, text=True, env=env, check=True)
    line = [ln for ln in result.stdout.splitlines() if ln.startswith("LOADED")][-1]
    return set(line.removeprefix("LOADED").strip().split(","))


def among(modules: set[str], packages: tuple[str, ...]) -> list[str]:
    """Which of `packages` (or modules inside them) were imported."""
    return [p for p in packages if any(m == p or m.startswith(p + ".") for m in modules)]


def test_review_list_imports_no_telegram_web_or_fhir_stack(tmp_path: Path) -> None:
    loaded(tmp_path, "review", "list")  # the first call migrates the database
    assert among(loaded(tmp_path, "review", "list"), HEAVY) == []


def test_review_list_imports_neither_migrations_nor_flows_nor_tables(tmp_path: Path) -> None:
    """On a migrated database, a listing imports no Alembic, no flow model or loader, no
    conversation engine, and no rich when there is no table to print."""
    first = loaded(tmp_path, "review", "list")  # migrates: Alembic is needed once
    assert "alembic" in first
    again = loaded(tmp_path, "review", "list")
    assert among(again, NOT_FOR_A_LISTING) == []
    assert among(loaded(tmp_path, "review", "list", "--json"), NOT_FOR_A_LISTING) == []
    assert "sqlalchemy" in again  # the probe does see what was imported


def test_a_listing_with_items_reads_no_flow(tmp_path: Path) -> None:
    """Items are listed (a table, so rich) without the flow model; `show` does load the flow."""
    key = new_key()
    database = open_database(tmp_path, key=key)
    flow = bundled_flow()
    item = seed_intake(database, user=7, flow=flow, answers=complete_answers(flow))
    database.dispose()
    listed = loaded(tmp_path, "review", "list", url=database.url, key=key)
    assert among(listed, NOT_FOR_A_LISTING) == ["rich"]
    shown = loaded(tmp_path, "review", "show", str(item), url=database.url, key=key)
    assert "flows.engine.format.model" in shown


def test_the_full_app_has_every_command() -> None:
    names = {c.name for c in app.registered_commands} | {g.name for g in app.registered_groups}
    assert set(COMMANDS) | {"keygen"} <= names
    flows = next(g.typer_instance for g in app.registered_groups if g.name == "flows")
    assert flows is not None
    assert [c.name for c in flows.registered_commands].count("translate") == 1
    build_app("flows")  # building again adds no second `translate`
    assert [c.name for c in flows.registered_commands].count("translate") == 1
