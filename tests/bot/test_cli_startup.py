"""The console script imports only what the command it runs needs (start-up time)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bot.cli import COMMANDS, app, build_app

PROBE = """
import sys
sys.argv = ["intake-bot", *sys.argv[1:]]
from bot.cli import main
try:
    main()
except SystemExit:
    pass
heavy = [m for m in ("telegram", "aiohttp", "fhir", "tornado") if m in sys.modules]
print("HEAVY", ",".join(heavy))
"""


def loaded_heavy(tmp_path: Path, *args: str) -> list[str]:
    """The heavy packages `intake-bot <args>` imported, run in a fresh interpreter."""
    env = {"INTAKE_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "PATH": "/usr/bin:/bin"}
    env["INTAKE_FLOW_CACHE_DIR"] = str(tmp_path / "cache")
    run = [sys.executable, "-c", PROBE, *args]
    result = subprocess.run(run, capture_output=True, text=True, env=env, check=True)
    line = [ln for ln in result.stdout.splitlines() if ln.startswith("HEAVY")][-1]
    return [name for name in line.removeprefix("HEAVY").strip().split(",") if name]


def test_review_list_imports_no_telegram_web_or_fhir_stack(tmp_path: Path) -> None:
    loaded_heavy(tmp_path, "review", "list")  # the first call fills the flow cache
    assert loaded_heavy(tmp_path, "review", "list") == []


def test_the_full_app_has_every_command() -> None:
    names = {c.name for c in app.registered_commands} | {g.name for g in app.registered_groups}
    assert set(COMMANDS) | {"keygen"} <= names
    flows = next(g.typer_instance for g in app.registered_groups if g.name == "flows")
    assert flows is not None
    assert [c.name for c in flows.registered_commands].count("translate") == 1
    build_app("flows")  # building again adds no second `translate`
    assert [c.name for c in flows.registered_commands].count("translate") == 1
