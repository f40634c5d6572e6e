"""The `intake-bot run` command: the Telegram bot with a token, else the terminal chat.

With `INTAKE_TELEGRAM_TOKEN` set the bot long-polls Telegram, or serves a webhook when
`INTAKE_WEBHOOK_URL` is set (then `INTAKE_WEBHOOK_SECRET` is required). Pending updates are never
dropped: Telegram keeps them for a day and they are patients' answers. SIGTERM stops fetching,
finishes the turns in progress and exits. SIGHUP, or an edit of the flow files (polled every
`INTAKE_FLOW_WATCH_SECONDS`), reloads the active flow without stopping (see `bot.reloading`).
"""

from __future__ import annotations

import logging

import typer
from telegram import Update

from bot.cli.errors import startup_errors
from bot.composition import build_services
from bot.reloading import FlowReloader
from bot.settings import Settings
from bot.telegram.application import build_application
from bot.telegram.errors import protect_logs
from bot.telegram.review_plugin import review_plugin
from bot.telegram.webhook import WebhookConfig, parse_listen, run_webhook


def run() -> None:
    """Run the bot on Telegram when a token is set, else the terminal intake."""
    with startup_errors():
        settings = Settings()
    if settings.telegram_token is None:
        from bot.cli.chat import chat

        chat(flow_file=None, db=None, lang=None)
        return
    token = settings.telegram_token.get_secret_value()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s %(message)s"
    )
    protect_logs(token)
    config = webhook_config(settings)
    with startup_errors():
        services = build_services(settings)
    try:
        plugin = review_plugin(services)
        reloader = FlowReloader(services.registry, services.flow_files, settings.flow_watch_seconds)
        app = build_application(
            services,
            extra_handlers=plugin.handlers,
            post_init_hooks=[*plugin.post_init, reloader.start],
            post_stop_hooks=[reloader.stop, *plugin.post_stop],
        )
        if config is None:
            app.run_polling(allowed_updates=Update.ALL_TYPES, drop_pending_updates=False)
        else:
            run_webhook(app, config)
    finally:
        services.close()


def webhook_config(settings: Settings) -> WebhookConfig | None:
    """Webhook mode's settings, or None for polling; a webhook without a secret is refused."""
    if not settings.webhook_url:
        return None
    if settings.webhook_secret is None or not settings.webhook_secret.get_secret_value():
        typer.echo("setting INTAKE_WEBHOOK_SECRET: required in webhook mode", err=True)
        raise typer.Exit(2)
    try:
        host, port = parse_listen(settings.listen)
    except ValueError as exc:
        typer.echo(f"setting INTAKE_LISTEN: {exc}", err=True)
        raise typer.Exit(2) from None
    secret = settings.webhook_secret.get_secret_value()
    return WebhookConfig(url=settings.webhook_url, secret=secret, host=host, port=port)
