"""The patient commands and the bot's command menu.

/start (a deep-link payload becomes the intake's source), /back, /restart, /status, /help and
/cancel are intake actions; /mydata sends the patient everything stored about them (every
intake); /delete asks first, with two transport-level buttons, then erases the patient's data
and says exactly what, if anything, the clinic keeps. An unknown command gets the help text.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from telegram import BotCommand, Message, Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from bot.telegram.delivery import Delivery
from bot.telegram.handlers import answer_query, take_turn
from bot.telegram.inbound import language_of
from bot.telegram.keyboards import yes_no_keyboard
from bot.telegram.service import PatientService
from flows.engine.conversation.buttons import ButtonAction, decode
from flows.engine.conversation.values import Action, ActionKind

Context = ContextTypes.DEFAULT_TYPE
Callback = Callable[[Update, Context], Coroutine[Any, Any, None]]

DELETE_STEP = 0  # step index of the /delete confirmation among SYSTEM buttons
SYSTEM_PATTERN = rf"^{ButtonAction.SYSTEM.value}:"

# Telegram's command menu, in this order; each label is the flow's `menu_<command>` message.
MENU_COMMANDS = (
    "start", "back", "status", "help", "restart", "cancel", "language", "mydata", "delete",
)  # fmt: skip

ACTION_COMMANDS = {
    "back": ActionKind.BACK,
    "restart": ActionKind.RESTART,
    "status": ActionKind.STATUS,
    "help": ActionKind.HELP,
    "cancel": ActionKind.CANCEL,
    "language": ActionKind.LANGUAGE,
}


def command_menu(intake: PatientService, language: str) -> list[BotCommand]:
    """The command menu in one language of the flow."""
    return [BotCommand(name, intake.message(f"menu_{name}", language)) for name in MENU_COMMANDS]


class PatientCommands:
    """Callbacks for the patient commands."""

    def __init__(self, intake: PatientService, delivery: Delivery) -> None:
        self.intake = intake
        self.delivery = delivery

    async def handle_start(self, update: Update, context: Context) -> None:
        """Start or resume the intake; a deep-link payload is kept as its source."""
        source = context.args[0] if context.args else None
        await take_turn(self.intake, self.delivery, update, Action(ActionKind.START), source=source)

    def action_command(self, kind: ActionKind) -> Callback:
        """A callback sending one intake action (for /back, /restart, /status, ...)."""

        async def handle_command(update: Update, context: Context) -> None:
            await take_turn(self.intake, self.delivery, update, Action(kind))

        handle_command.__doc__ = f"Send the intake a {kind.value} action."
        return handle_command

    async def handle_unknown(self, update: Update, context: Context) -> None:
        """An unknown command gets the help text of the intake."""
        await take_turn(self.intake, self.delivery, update, Action(ActionKind.HELP))

    async def handle_mydata(self, update: Update, context: Context) -> None:
        """Send the patient a copy of their own answers."""
        user, chat = update.effective_user, update.effective_chat
        if user is None or chat is None:
            return
        language = self.delivery.language(chat.id, language_of(update))
        lines = await self.intake.patient_copy(user_id=user.id, language=language)
        text = "\n".join(lines) or self.intake.message("mydata_empty", language)
        await self.delivery.send_text(chat.id, text)

    async def handle_delete(self, update: Update, context: Context) -> None:
        """Ask the patient to confirm erasing their answers and personal data."""
        chat = update.effective_chat
        if chat is None:
            return
        text = self.intake.message
        lang = self.delivery.language(chat.id, language_of(update))
        markup = yes_no_keyboard(
            text("delete_yes", lang), text("delete_no", lang), ButtonAction.SYSTEM, DELETE_STEP
        )
        await self.delivery.send_text(chat.id, text("delete_confirm", lang), markup)

    async def handle_delete_press(self, update: Update, context: Context) -> None:
        """Erase the patient's data on yes; keep it on no; either way drop the buttons."""
        query, user, chat = update.callback_query, update.effective_user, update.effective_chat
        if query is None or user is None or chat is None or chat.type != ChatType.PRIVATE:
            return
        button = decode(query.data or "")
        lang = self.delivery.language(chat.id, language_of(update))
        if button is None or button.step_index != DELETE_STEP:
            await answer_query(query, self.intake.message("stale_button", lang))
            return
        await answer_query(query)
        if button.option_index == 0:
            deletion = await self.intake.delete_patient(user_id=user.id, language=lang)
            outcome = deletion.message
        else:
            outcome = self.intake.message("delete_kept", lang)
        if isinstance(query.message, Message):
            await self.delivery.edit(query.message, outcome, None)
        else:
            await self.delivery.send_text(user.id, outcome)
