"""The `intake-bot` command line: one Typer app with a sub-command group per concern."""

from __future__ import annotations

import typer

from bot.cli import chat, flows, review, run, safety, stats, translate

app = typer.Typer(
    name="intake-bot",
    help="Gut-health intake bot: run it, try flows in a terminal, review intakes.",
    no_args_is_help=True,
    add_completion=False,
)
app.command("run")(run.run)
app.command("chat")(chat.chat)
flows.app.command("translate")(translate.translate)
app.add_typer(flows.app, name="flows")
app.add_typer(review.app, name="review")
app.add_typer(safety.app, name="safety")
app.command("stats")(stats.stats)


@app.command("keygen")
def keygen() -> None:
    """Print a new key for INTAKE_ENCRYPTION_KEY."""
    from storage.sealing import new_key

    typer.echo(new_key())


def main() -> None:
    """Entry point of the `intake-bot` console script."""
    app()
