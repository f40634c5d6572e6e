"""The patient handlers: typed text, button presses, edited messages, other input, groups.

One handler per kind of update, no `ConversationHandler`: the conversation state is the intake
service's. Each handler turns the update into an `Inbound`, awaits the service (which commits
the turn) and only then sends the reply through `Delivery`.
"""

from __future__ import annotations

import logging

from telegram import CallbackQuery, Message, MessageEntity, ReplyKeyboardRemove, Update
from telegram.constants import ChatType
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.telegram.calls import call
from bot.telegram.delivery import Delivery
from bot.telegram.inbound import button_action, inbound_from, language_of
from bot.telegram.questions import QuestionMemory
from bot.telegram.service import PatientService
from flows.engine.conversation.buttons import decode
from flows.engine.conversation.values import Action, ActionKind, Turn

Context = ContextTypes.DEFAULT_TYPE
_LOG = logging.getLogger(__name__)


async def answer_query(query: CallbackQuery, text: str | None = None) -> None:
    """Stop the button's spinner (with a notice); a query too old to answer changes nothing.

    After downtime the pending presses are handled late and Telegram refuses to answer them;
    the turn was committed all the same, so its reply must still go out. The call is
    `CallbackQuery.answer`'s (`answerCallbackQuery` with the query's id and the text), made
    without building it through python-telegram-bot's method (see `bot.telegram.calls`).
    """
    try:
        await call(query.get_bot(), "answerCallbackQuery", callback_query_id=query.id, text=text)
    except BadRequest as exc:
        _LOG.info("callback query not answered: %s", type(exc).__name__)


async def take_turn(
    intake: PatientService,
    delivery: Delivery,
    update: Update,
    action: Action,
    *,
    source: str | None = None,
    pressed: Message | None = None,
) -> Turn:
    """Run one patient turn through the service, then show it in the chat."""
    turn = await intake.handle(inbound_from(update, action, source))
    chat = update.effective_chat
    if chat is not None:
        await delivery.deliver(chat.id, turn, language=language_of(update), pressed=pressed)
    return turn


class PatientHandlers:
    """Callbacks for a patient's private chat (and the refusal in other groups)."""

    def __init__(
        self,
        intake: PatientService,
        delivery: Delivery,
        questions: QuestionMemory,
        review_chat: int | None = None,
    ) -> None:
        self.intake = intake
        self.delivery = delivery
        self.questions = questions
        self.review_chat = review_chat

    async def handle_text(self, update: Update, context: Context) -> None:
        """Give typed text to the intake: an answer, a question, or a red flag to screen."""
        message = update.effective_message
        if message is not None and message.text is not None:
            shown_in = self.delivery.language(message.chat_id, None)  # before consent, see Action
            action = Action(ActionKind.TEXT, message.text, language=shown_in)
            await take_turn(self.intake, self.delivery, update, action)

    async def handle_button(self, update: Update, context: Context) -> None:
        """Give a pressed button to the intake; stale or unknown buttons get a short notice."""
        query = update.callback_query
        chat = update.effective_chat
        if query is None or chat is None or chat.id == self.review_chat:
            return  # the review chat's buttons are the clinician handlers' business
        if chat.type != ChatType.PRIVATE:
            await answer_query(query, self.intake.message("private_only", language_of(update)))
            return
        language = self.delivery.language(chat.id, language_of(update))
        button = decode(query.data or "")
        action = button_action(button) if button is not None else None
        if action is None:
            await answer_query(query, self.intake.message("stale_button", language))
            return
        turn = await self.intake.handle(inbound_from(update, action))
        stale = self.intake.message("stale_button", language) if turn.stale else None
        await answer_query(query, stale)
        pressed = query.message if isinstance(query.message, Message) else None
        await self.delivery.deliver(chat.id, turn, language=language, pressed=pressed)

    async def handle_edit(self, update: Update, context: Context) -> None:
        """An edit of a reply to the current question answers it; older ones are only screened."""
        message = update.edited_message
        if message is None or message.text is None:
            return
        current = self.questions.answers_current(message.chat_id, message.message_id)
        if not current:
            action = Action(ActionKind.SCREEN, message.text)
        else:  # bound to the question this process last asked: another may have moved on
            asked = self.questions.current(message.chat_id)
            action = Action(ActionKind.TEXT, message.text, step=asked.step if asked else None)
        await take_turn(self.intake, self.delivery, update, action)

    async def handle_contact(self, update: Update, context: Context) -> None:
        """A shared contact: the patient's own number is kept for a call-back, sealed."""
        message, user = update.effective_message, update.effective_user
        if message is None or message.contact is None or user is None:
            return
        language, status = language_of(update), None
        if message.contact.user_id != user.id:  # someone else's card: not a call-back number
            key = "contact_not_own"
        else:
            phone = message.contact.phone_number
            status = await self.intake.save_contact(user_id=user.id, phone=phone)
            key = "contact_saved" if status is not None else "unsupported_input"
        text = self.intake.message(key, language)
        await self.delivery.send_text(message.chat_id, text, ReplyKeyboardRemove())
        if status == "active":  # show where the intake stands again
            await take_turn(self.intake, self.delivery, update, Action(ActionKind.STATUS))

    async def handle_unsupported(self, update: Update, context: Context) -> None:
        """Photos, voice, stickers and the like: ask for text or buttons; store nothing."""
        chat = update.effective_chat
        if chat is not None:
            language = self.delivery.language(chat.id, language_of(update))
            text = self.intake.message("unsupported_input", language)
            await self.delivery.send_text(chat.id, text)

    async def handle_group(self, update: Update, context: Context) -> None:
        """In a group other than the review chat, ask people to write to the bot privately."""
        message = update.effective_message
        if message is None or not _addressed_to_bot(message, context.bot.id, context.bot.username):
            return
        text = self.intake.message("private_only", language_of(update))
        await self.delivery.send_text(message.chat_id, text)


def _addressed_to_bot(message: Message, bot_id: int, username: str | None) -> bool:
    """A command, a mention of the bot, or a reply to it (not every line of a busy group)."""
    reply = message.reply_to_message
    if reply is not None and reply.from_user is not None and reply.from_user.id == bot_id:
        return True
    entities = message.parse_entities([MessageEntity.BOT_COMMAND, MessageEntity.MENTION])
    mention = f"@{username}".lower() if username else None
    for entity, text in entities.items():
        if entity.type == MessageEntity.BOT_COMMAND or text.lower() == mention:
            return True
    return False
