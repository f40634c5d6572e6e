"""The `intake-bot chat` command: the intake in a terminal, on the embedded default store.

The terminal has no buttons: the flow's `typed_messages` say how to answer there. With
`--scenario FILE` the scenario's answers are typed first (echoed), then stdin takes over, so
an operator can try a flow from the point a scenario leaves it.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.checks import check_terminal
from bot.cli.errors import startup_errors
from bot.composition import build_services
from bot.settings import Settings
from bot.terminal import TerminalChat
from flows.engine.conversation.turns import Conversation
from flows.engine.format.model import Flow
from flows.engine.format.problems import FlowError, Problem
from flows.workbench.player import play
from flows.workbench.replay import typed_lines
from flows.workbench.scenario_files import load_defaults, load_scenario


def chat(
    flow_file: Annotated[Path | None, typer.Option("--flow", help="A flow file to try.")] = None,
    db: Annotated[
        str | None, typer.Option("--db", help="Database URL (default: INTAKE_DATABASE_URL).")
    ] = None,
    scenario: Annotated[
        Path | None,
        typer.Option("--scenario", help="Type this scenario's answers first.", dir_okay=False),
    ] = None,
    lang: Annotated[
        str | None,
        typer.Option("--lang", help="The patient's language (es, es-MX); else the flow's default."),
    ] = None,
) -> None:
    """Run the intake in this terminal, reading answers line by line from stdin."""
    with startup_errors():
        settings = Settings()
    check_terminal(settings, db or settings.database_url)
    with startup_errors():
        services = build_services(settings, flow_file=flow_file, database_url=db, typed=True)
    try:
        with startup_errors():
            lines = scenario_lines(scenario, services.registry.active_loaded.flow)
            chat = TerminalChat(services.intake, out=sys.stdout, language=lang)
            chat.run(itertools.chain(lines, sys.stdin), echo=bool(lines) or not sys.stdin.isatty())
    except KeyboardInterrupt:
        pass
    finally:
        services.close()


def scenario_lines(path: Path | None, flow: Flow) -> list[str]:
    """The lines a scenario types on `flow` (none without a scenario)."""
    if path is None:
        return []
    problems: list[Problem] = []
    loaded = load_scenario(path, problems)
    defaults = load_defaults(path.parent)
    if loaded is None or defaults.problems:
        raise FlowError(problems + defaults.problems)
    run = play(Conversation(flow), loaded, defaults, str(path))
    return [line + "\n" for line in typed_lines(run.moves, flow)]
