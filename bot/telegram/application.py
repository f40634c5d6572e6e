"""Building the python-telegram-bot `Application`: the one place handlers are registered.

`build_application` wires the patient handlers, the durable inbox (the update queue commits
each update before it is acknowledged; see `bot.telegram.inbox`), the per-chat update
processor, the pacer, housekeeping and the error handler around the services of the
composition root. Other features plug in through its hook (the clinician review chat does):

- `extra_handlers` are added in group `EXTRA_GROUP` (0), before the patient handlers (group
  `PATIENT_GROUP`, 1). The patient handlers only take private chats (and answer other groups
  with `private_only`), never the review chat, so a review-chat update is the extra handlers'
  alone. An extra handler that consumes a *private* update (say a clinician's /queue) must
  raise `telegram.ext.ApplicationHandlerStop`, or the patient handlers see it too.
- `post_init_hooks` run after the command menu is set, when the bot is initialised (both in
  polling and webhook mode); `post_stop_hooks` run after the last update was handled.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from telegram import BotCommandScopeAllPrivateChats
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest

from bot.telegram.commands import (
    ACTION_COMMANDS,
    SYSTEM_PATTERN,
    PatientCommands,
    command_menu,
)
from bot.telegram.delivery import Delivery
from bot.telegram.errors import error_handler, protect_logs
from bot.telegram.handlers import PatientHandlers
from bot.telegram.housekeeping import VITALS, Housekeeping, Vitals
from bot.telegram.inbox import InboxGate, InboxQueue, InboxStore
from bot.telegram.pacer import Pacer, Rates
from bot.telegram.processor import ChatSerialProcessor
from bot.telegram.questions import QuestionMemory
from bot.telegram.replay import Replayer
from bot.telegram.service import PatientService, ServiceSet
from bot.telegram.tracking import TrackedService
from bot.telegram.transport import AiohttpRequest

AnyApplication = Application[Any, Any, Any, Any, Any, Any]
Hook = Callable[[AnyApplication], Coroutine[Any, Any, None]]
EXTRA_GROUP = 0
PATIENT_GROUP = 1
DEFAULT_RATES = Rates()
POOL_WAIT_SECONDS = 30.0


def build_application(
    services: ServiceSet,
    *,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    rates: Rates | None = DEFAULT_RATES,
    running_turns: int = 16,
    extra_handlers: Sequence[BaseHandler[Any, Any, Any]] = (),
    post_init_hooks: Sequence[Hook] = (),
    post_stop_hooks: Sequence[Hook] = (),
) -> AnyApplication:
    """The bot for `services`: patient handlers, paced delivery, one turn per chat at a time.

    `request` / `get_updates_request` replace PTB's HTTP transport (tests); `rates=None` turns
    pacing off (the benchmark); `running_turns` bounds the turns handled at once.
    """
    settings = services.settings
    if settings.telegram_token is None:
        raise ValueError("INTAKE_TELEGRAM_TOKEN is not set")
    protect_logs(settings.telegram_token.get_secret_value())
    queue = InboxQueue(InboxStore(services.database, settings.instance_name))
    processor = ChatSerialProcessor(running_turns)
    builder: ApplicationBuilder[Any, Any, Any, Any, Any, Any] = (
        ApplicationBuilder()
        .token(settings.telegram_token.get_secret_value())
        .base_url(settings.telegram_api_url)
        .base_file_url(file_url(settings.telegram_api_url))
        .update_queue(queue)
        .concurrent_updates(processor)
        # A pool about the size of the turns that can be sending at once; a request waits
        # for a free connection rather than failing.
        .request(
            request
            or AiohttpRequest(
                connection_pool_size=running_turns + 4, pool_timeout=POOL_WAIT_SECONDS
            )
        )
        .get_updates_request(
            InboxGate(get_updates_request or AiohttpRequest(connection_pool_size=1), queue)
        )
    )
    if rates is not None:
        builder = builder.rate_limiter(Pacer(rates))
    intake = TrackedService(services.intake)
    vitals = Vitals(failed_turns=lambda: intake.failures, inbox=queue)
    chores: list[Housekeeping] = []  # built once the Application (and its bot) exists
    hooks = [chores_start(chores), *post_init_hooks]
    builder = builder.post_init(_run_hooks(hooks, menu=intake))
    post_stop = [*post_stop_hooks, chores_stop(chores)]
    app: AnyApplication = builder.post_stop(_run_hooks(post_stop, menu=None)).build()
    queue.bind(app.bot)
    processor.attach(queue, app.process_update)
    app.bot_data[VITALS] = vitals
    for handler in extra_handlers:
        app.add_handler(handler, EXTRA_GROUP)
    delivery = add_patient_handlers(app, intake, settings.review_chat_id)
    replayer = Replayer(intake, delivery, processor, queue)
    chores.append(Housekeeping(queue, services.sweeper, vitals, replayer))
    app.add_error_handler(error_handler(_failure_text(intake), vitals.count_handler_failure))
    return app


def add_patient_handlers(
    app: AnyApplication, intake: PatientService, review_chat: int | None
) -> Delivery:
    """Register the patient commands, buttons, text, edits and other input in `PATIENT_GROUP`;
    the `Delivery` they send with."""
    questions = QuestionMemory()
    actions = ACTION_COMMANDS.items()
    delivery = Delivery(app.bot, intake, questions)
    patient = PatientHandlers(intake, delivery, questions, review_chat)
    commands = PatientCommands(intake, delivery)
    private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    other = ~filters.TEXT & ~filters.StatusUpdate.ALL
    edited = filters.ChatType.PRIVATE & filters.UpdateType.EDITED_MESSAGE
    handlers: list[BaseHandler[Any, Any, Any]] = [
        CommandHandler("start", commands.handle_start, private),
        CommandHandler("mydata", commands.handle_mydata, private),
        CommandHandler("delete", commands.handle_delete, private),
        *(CommandHandler(n, commands.action_command(k), private) for n, k in actions),
        CallbackQueryHandler(commands.handle_delete_press, pattern=SYSTEM_PATTERN),
        CallbackQueryHandler(patient.handle_button),
        MessageHandler(private & filters.COMMAND, commands.handle_unknown),
        MessageHandler(private & filters.TEXT, patient.handle_text),
        MessageHandler(edited & filters.TEXT & ~filters.COMMAND, patient.handle_edit),
        MessageHandler(private & filters.CONTACT, patient.handle_contact),
        MessageHandler(private & other, patient.handle_unsupported),
        MessageHandler(_other_groups(review_chat), patient.handle_group),
    ]
    for handler in handlers:
        app.add_handler(handler, PATIENT_GROUP)
    return delivery


def file_url(api_url: str) -> str:
    """The file download URL beside a Bot API URL (`.../bot` -> `.../file/bot`)."""
    base, _, tail = api_url.rstrip("/").rpartition("/")
    return f"{base}/file/{tail}"


def _other_groups(review_chat: int | None) -> filters.BaseFilter:
    groups = filters.ChatType.GROUPS & filters.UpdateType.MESSAGE
    if review_chat is None:
        return groups
    return groups & ~filters.Chat(chat_id=review_chat)


def vitals_of(app: AnyApplication) -> Vitals:
    """The figures of a built application (failures, sweeps), for /healthz."""
    vitals: Vitals = app.bot_data[VITALS]
    return vitals


def chores_start(chores: list[Housekeeping]) -> Hook:
    """A post-init hook: queue the inbox's pending updates again and start housekeeping."""

    async def start_chores(app: AnyApplication) -> None:
        for chore in chores:
            await chore.start()

    return start_chores


def chores_stop(chores: list[Housekeeping]) -> Hook:
    """A post-stop hook: stop housekeeping."""

    async def stop_chores(app: AnyApplication) -> None:
        for chore in chores:
            await chore.stop()

    return stop_chores


def _failure_text(intake: PatientService) -> Callable[[str | None], str]:
    def failure_text(language: str | None) -> str:
        return intake.message("turn_failed", language)

    return failure_text


def _run_hooks(hooks: Sequence[Hook], *, menu: PatientService | None) -> Hook:
    async def run_hooks(app: AnyApplication) -> None:
        if menu is not None:
            await set_menus(app, menu)
        for hook in hooks:
            await hook(app)

    return run_hooks


async def set_menus(app: AnyApplication, intake: PatientService) -> None:
    """The command menu of private chats: the default language's, and one per other language.

    Telegram shows a user the menu set for their app's language code, else the default one.
    """
    scope = BotCommandScopeAllPrivateChats()
    default, *others = intake.languages
    await app.bot.set_my_commands(command_menu(intake, default), scope=scope)
    for language in others:
        code = language.split("-")[0]
        if code != default:
            menu = command_menu(intake, language)
            await app.bot.set_my_commands(menu, scope=scope, language_code=code)
