"""Start-up checks of the settings, run by `intake-bot run` before anything starts.

Each check is a function of the settings and the mode that yields problems, one line each,
naming the variable and what is wrong; `run` prints them all and exits with code 2, never a
traceback. The checks of values (`CHECKS`) run first; then the database is opened (its errors
are one line too, see `bot.cli.errors`; a key that does not open it fails the key canary,
`storage.rotation.check_key`) and, in Telegram mode, `reach_bot_api` asks the Bot API
who the token belongs to (getMe), so a rejected token or an unreachable server stops start-up
instead of filling the log. Add a check by writing a function below and listing it in `CHECKS`.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from telegram import Bot
from telegram.error import InvalidToken, NetworkError, TelegramError

from bot.settings import Settings
from bot.telegram.transport import AiohttpRequest

PHONE = re.compile(r"\+?[0-9(][0-9 ()-]*")
SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
BACKENDS = ("sqlite", "postgresql", "postgres")
API_TIMEOUT = 10.0  # seconds for getMe at start-up


@dataclass(frozen=True, slots=True)
class Mode:
    """What `run` is about to start."""

    telegram: bool  # the Telegram bot (else the terminal chat)


Check = Callable[[Settings, Mode], Iterator[str]]


def check_database_url(settings: Settings, mode: Mode) -> Iterator[str]:
    """INTAKE_DATABASE_URL is a URL of a database the product supports."""
    try:
        url = make_url(settings.database_url)
    except ArgumentError:
        yield "setting INTAKE_DATABASE_URL: not a database URL (sqlite:///path or postgresql://...)"
        return
    backend = url.get_backend_name()
    if backend not in BACKENDS:
        yield f"setting INTAKE_DATABASE_URL: '{backend}' is not supported (sqlite or postgresql)"


def check_booking_url(settings: Settings, mode: Mode) -> Iterator[str]:
    """INTAKE_BOOKING_URL is an http(s) link whose only placeholder is {intake_id}."""
    link = settings.booking_url
    parts = urlsplit(link)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in link):
        yield f"setting INTAKE_BOOKING_URL: '{link}' is not an http(s) link"
        return
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(link) if name is not None}
    except ValueError:
        yield "setting INTAKE_BOOKING_URL: unbalanced braces (only {intake_id} is filled in)"
        return
    if names - {"intake_id"}:
        unknown = ", ".join(sorted(f"{{{n}}}" for n in names - {"intake_id"}))
        yield f"setting INTAKE_BOOKING_URL: unknown placeholder {unknown} (only {{intake_id}})"


def check_placeholder_booking(settings: Settings, mode: Mode) -> Iterator[str]:
    """On Telegram the booking link is the clinic's own, not the shipped placeholder."""
    if mode.telegram and settings.booking_url_is_placeholder:
        yield (
            "setting INTAKE_BOOKING_URL: still the placeholder link; set the clinic's booking "
            "page (patients are sent there)"
        )


def check_emergency_number(settings: Settings, mode: Mode) -> Iterator[str]:
    """INTAKE_EMERGENCY_NUMBER is a phone number a patient can dial."""
    number = settings.emergency_number.strip()
    digits = sum(c.isdigit() for c in number)
    if not PHONE.fullmatch(number) or not 2 <= digits <= 15:
        yield (
            f"setting INTAKE_EMERGENCY_NUMBER: '{settings.emergency_number}' is not a phone "
            "number (digits, an optional leading +, spaces, dashes, brackets)"
        )


def check_encryption_key(settings: Settings, mode: Mode) -> Iterator[str]:
    """On Telegram, INTAKE_ENCRYPTION_KEY is set: patients' health data is sealed at rest."""
    if mode.telegram and settings.encryption_keys is None:
        yield (
            "setting INTAKE_ENCRYPTION_KEY: required on Telegram (health data is sealed at rest); "
            "make one with `intake-bot keygen`"
        )


def check_clinicians(settings: Settings, mode: Mode) -> Iterator[str]:
    """On Telegram, a review chat comes with clinicians who may open what it announces."""
    if mode.telegram and settings.review_chat_id is not None and not settings.clinician_id_set:
        yield (
            "setting INTAKE_CLINICIAN_IDS: required when INTAKE_REVIEW_CHAT_ID is set (intakes are "
            "read only by these clinicians, in their private chats with the bot)"
        )


def check_webhook(settings: Settings, mode: Mode) -> Iterator[str]:
    """Webhook mode has a secret Telegram accepts and a host:port to listen on."""
    if not (mode.telegram and settings.webhook_url):
        return
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
    if not secret:
        yield "setting INTAKE_WEBHOOK_SECRET: required in webhook mode"
    elif not SECRET.fullmatch(secret):
        yield "setting INTAKE_WEBHOOK_SECRET: use 1-256 of A-Z a-z 0-9 _ - (Telegram's rule)"
    host, _, port = settings.listen.rpartition(":")
    if not host or not port.isdigit():
        yield f"setting INTAKE_LISTEN: must be host:port, got '{settings.listen}'"


CHECKS: tuple[Check, ...] = (
    check_database_url,
    check_booking_url,
    check_placeholder_booking,
    check_emergency_number,
    check_encryption_key,
    check_clinicians,
    check_webhook,
)


def problems(settings: Settings, mode: Mode) -> list[str]:
    """Every problem the value checks find, one line each."""
    return [line for check in CHECKS for line in check(settings, mode)]


async def reach_bot_api(settings: Settings) -> str | None:
    """None when the Bot API answers getMe for the token; else the one-line problem."""
    assert settings.telegram_token is not None
    request = AiohttpRequest(
        connection_pool_size=1, read_timeout=API_TIMEOUT, connect_timeout=API_TIMEOUT
    )
    bot = Bot(
        settings.telegram_token.get_secret_value(),
        base_url=settings.telegram_api_url,
        request=request,
        get_updates_request=request,
    )
    try:
        async with bot:  # initialising a Bot asks getMe
            return None
    except InvalidToken:
        return "setting INTAKE_TELEGRAM_TOKEN: the Bot API rejected this token (Unauthorized)"
    except NetworkError as exc:
        where = settings.telegram_api_url
        return f"setting INTAKE_TELEGRAM_API_URL: cannot reach the Bot API at {where} ({exc})"
    except TelegramError as exc:
        return f"setting INTAKE_TELEGRAM_TOKEN: the Bot API refused getMe ({exc})"
