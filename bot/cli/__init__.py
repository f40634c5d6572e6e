"""The `intake-bot` command line: one Typer app with a sub-command group per concern.

Each command's module is imported only when the app is built with it: `main` builds the app
with just the command named on the command line (a `review list` then never imports the
Telegram stack, the web server or the FHIR models), and the full app for help or a name it
does not know. `app` (for tests and `--help`) is the full app, built on first use.

The process creates files for its owner only (umask 077): the SQLite file with its WAL, exports,
anything a log handler writes.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import typer

# command name -> (module under bot.cli, attribute, kind: "command" or "group")
COMMANDS: dict[str, tuple[str, str, str]] = {
    "run": ("run", "run", "command"),
    "chat": ("chat", "chat", "command"),
    "flows": ("flows", "app", "group"),
    "review": ("review", "app", "group"),
    "safety": ("safety", "app", "group"),
    "stats": ("stats", "stats", "command"),
    "keys": ("keys", "app", "group"),
    "patient": ("patient", "app", "group"),
    "purge": ("purge", "purge", "command"),
}


def build_app(only: str | None = None) -> typer.Typer:
    """The app with every command, or with only the command `only` (and keygen)."""
    cli = typer.Typer(
        name="intake-bot",
        help="Gut-health intake bot: run it, try flows in a terminal, review intakes.",
        no_args_is_help=True,
        add_completion=False,
    )
    for name, (module, attribute, kind) in COMMANDS.items():
        if only is not None and name != only:
            continue
        target = getattr(importlib.import_module(f"bot.cli.{module}"), attribute)
        if name == "flows" and not any(c.name == "translate" for c in target.registered_commands):
            translate = importlib.import_module("bot.cli.translate")
            target.command("translate")(translate.translate)
        if kind == "group":
            cli.add_typer(target, name=name)
        else:
            cli.command(name)(target)
    cli.command("keygen")(keygen)
    return cli


def keygen() -> None:
    """Print a new key for INTAKE_ENCRYPTION_KEY."""
    from storage.sealing import new_key

    typer.echo(new_key())


def __getattr__(name: str) -> Any:
    if name == "app":
        built = globals()["app"] = build_app()
        return built
    raise AttributeError(name)


def main() -> None:
    """Entry point of the `intake-bot` console script."""
    os.umask(0o077)
    named = sys.argv[1] if len(sys.argv) > 1 else None
    build_app(named if named in COMMANDS else None)()
