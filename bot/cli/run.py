"""The `intake-bot run` command: the Telegram bot with a token, else the terminal chat.

With `INTAKE_TELEGRAM_TOKEN` set the bot long-polls Telegram, or serves a webhook when
`INTAKE_WEBHOOK_URL` is set (then `INTAKE_WEBHOOK_SECRET` is required). Every setting is checked
first (`bot.preflight`: a Telegram bot without INTAKE_ENCRYPTION_KEY, a review chat without
clinicians, a bad link or number ...): a bad one is a line on stderr and exit code 2, before
anything starts; so is a key that does not open the database. Pending updates are never
dropped: Telegram keeps them for a day and they are patients' answers. SIGTERM stops fetching,
finishes the turns in progress and exits. SIGHUP, or an edit of the flow files (polled every
`INTAKE_FLOW_WATCH_SECONDS`), reloads the active flow without stopping (see `bot.reloading`).
While it runs, the bot purges data past its retention period every hour.
"""

from __future__ import annotations

import asyncio
import logging

import typer
from telegram import Update

from bot.cli.errors import startup_errors
from bot.composition import Services, build_services
from bot.preflight import Mode, problems, reach_bot_api
from bot.reloading import FlowReloader
from bot.settings import Settings
from bot.telegram.application import build_application
from bot.telegram.errors import protect_logs
from bot.telegram.maintenance import PurgeTask, purge_hooks
from bot.telegram.review_plugin import review_plugin
from bot.telegram.webhook import WebhookConfig, parse_listen, run_webhook


def run() -> None:
    """Run the bot on Telegram when a token is set, else the terminal intake."""
    with startup_errors():
        settings = Settings()
    mode = Mode(telegram=settings.telegram_token is not None)
    stop_on(problems(settings, mode))
    if settings.telegram_token is None:
        from bot.cli.chat import chat

        chat(flow_file=None, db=None, lang=None)
        return
    token = settings.telegram_token.get_secret_value()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s %(message)s"
    )
    protect_logs(token)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # a line per migration context
    problem = asyncio.run(reach_bot_api(settings))
    stop_on([problem] if problem else [])
    with startup_errors():
        services = build_services(settings)  # a key that does not open it stops here
    try:
        serve(services)
    finally:
        services.close()


def serve(services: Services) -> None:
    """Build the Application and run it, polling or as a webhook, until SIGTERM."""
    settings = services.settings
    plugin = review_plugin(services)
    reloader = FlowReloader(services.registry, services.flow_files, settings.flow_watch_seconds)
    purging = PurgeTask(services.retention, notify=services.review_wakeup.notify)
    start_purge, stop_purge = purge_hooks(purging)
    app = build_application(
        services,
        extra_handlers=plugin.handlers,
        post_init_hooks=[*plugin.post_init, reloader.start, start_purge],
        post_stop_hooks=[stop_purge, reloader.stop, *plugin.post_stop],
    )
    config = webhook_config(settings)
    if config is None:
        app.run_polling(allowed_updates=Update.ALL_TYPES, drop_pending_updates=False)
    else:
        run_webhook(app, config)


def stop_on(lines: list[str]) -> None:
    """Print each start-up problem on stderr and exit with code 2 if there is any."""
    for line in lines:
        typer.echo(line, err=True)
    if lines:
        raise typer.Exit(2)


def webhook_config(settings: Settings) -> WebhookConfig | None:
    """Webhook mode's settings (checked by `bot.preflight`), or None for polling."""
    if not settings.webhook_url or settings.webhook_secret is None:
        return None
    host, port = parse_listen(settings.listen)
    secret = settings.webhook_secret.get_secret_value()
    return WebhookConfig(url=settings.webhook_url, secret=secret, host=host, port=port)
