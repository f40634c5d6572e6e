"""The `intake-bot run` command: the Telegram bot with a token, else the terminal chat."""

from __future__ import annotations


def run() -> None:
    """Run the bot on Telegram when a token is set, else the terminal intake."""
    from bot.cli.chat import chat

    chat(flow_file=None, db=None)
