"""Clear messages instead of tracebacks for what an operator can fix: flows, settings, storage."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from flows.engine.format.problems import FlowError
from storage.database import StorageError
from storage.sealing import SealError


@contextmanager
def startup_errors() -> Iterator[None]:
    """Turn operator-fixable failures into a message on stderr and exit code 2."""
    try:
        yield
    except FlowError as exc:
        raise flow_problems(exc) from None
    except ValidationError as exc:
        for error in exc.errors():
            name = "INTAKE_" + "_".join(str(p) for p in error["loc"]).upper()
            typer.echo(f"setting {name}: {error['msg']}", err=True)
        raise typer.Exit(2) from None
    except (StorageError, SealError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except SQLAlchemyError as exc:  # anything else the database said: its class, no contents
        typer.echo(f"error: the database refused start-up ({type(exc).__name__})", err=True)
        raise typer.Exit(2) from None


def flow_problems(error: FlowError) -> typer.Exit:
    """Print a flow's problems (file, line, what is wrong), one a line: the exit to raise."""
    for problem in error.problems:
        typer.echo(str(problem), err=True)
    return typer.Exit(2)
