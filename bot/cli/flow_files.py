"""Reading flow files for the `flows` commands: problems as `file:line: message`, exit 1."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from flows.engine.format.problems import FlowError, Problem
from flows.engine.loading.loader import LoadedFlow, load_flow_file


def print_problems(problems: list[Problem]) -> None:
    """Print each problem as `file:line: message` on stderr."""
    console = Console(stderr=True, soft_wrap=True, highlight=False)
    for problem in problems:
        console.print(str(problem), markup=False)


def load_or_exit(path: Path) -> LoadedFlow:
    """The loaded flow at `path`, or print its problems and exit 1."""
    try:
        return load_flow_file(path)
    except FlowError as error:
        print_problems(error.problems)
        raise typer.Exit(1) from None
