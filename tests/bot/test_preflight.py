"""Start-up checks: each bad setting stops `intake-bot run` with one line on stderr and exit 2.

The real command runs as a subprocess (all cases at once, to keep the suite fast) in an empty
folder, so no `.env` is read; a Bot API that rejects the token is the fake Bot API on loopback.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.preflight import Mode, problems
from bot.settings import PLACEHOLDER_BOOKING_URL, Settings
from storage.sealing import new_key
from tests.bot.fake_bot_api import FakeBotApi
from tests.bot.test_telegram_webhook import free_port

CLI = Path(sys.executable).parent / "intake-bot"
GOOD_BOOKING = "https://book.example.org/precision?ref={intake_id}"
KEY = new_key()


def start(tmp: Path, **settings: str) -> subprocess.Popen[str]:
    """`intake-bot run` with only these INTAKE_ settings, in an empty folder, stdin closed."""
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp)}
    env["INTAKE_DATABASE_URL"] = f"sqlite:///{tmp / 'intake.db'}"
    env.update({f"INTAKE_{name.upper()}": value for name, value in settings.items()})
    return subprocess.Popen(
        [str(CLI), "run"],
        cwd=tmp,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def telegram(api_url: str, **settings: str) -> dict[str, str]:
    """Settings of Telegram mode that pass every check but the ones given."""
    return {
        "telegram_token": "123:right-token",
        "telegram_api_url": api_url,
        "booking_url": GOOD_BOOKING,
        "encryption_key": KEY,
        **settings,
    }


async def test_each_bad_setting_is_one_line_and_exit_code_2(
    tmp_path: Path, fake_api: FakeBotApi
) -> None:
    """Bad database URLs, booking links, emergency numbers, a placeholder link on Telegram, an
    unreachable Bot API and a rejected token: exit code 2 and exactly one line, no traceback."""
    closed = f"http://127.0.0.1:{free_port()}/bot"
    cases: dict[str, tuple[dict[str, str], str]] = {
        "garbage url": ({"database_url": "garbage"}, "INTAKE_DATABASE_URL"),
        "mysql": ({"database_url": "mysql://x"}, "INTAKE_DATABASE_URL"),
        "no postgres": (
            {"database_url": "postgresql://u@127.0.0.1:1/x", "encryption_key": KEY},
            "127.0.0.1:1",
        ),
        "booking": ({"booking_url": "not a link"}, "INTAKE_BOOKING_URL"),
        "booking field": ({"booking_url": "https://c.example/{patient}"}, "INTAKE_BOOKING_URL"),
        "number": ({"emergency_number": "call-someone"}, "INTAKE_EMERGENCY_NUMBER"),
        "placeholder": (
            telegram(fake_api.base_url, booking_url=PLACEHOLDER_BOOKING_URL),
            "INTAKE_BOOKING_URL",
        ),
        "unreachable": (telegram(closed), "INTAKE_TELEGRAM_API_URL"),
        "rejected": (telegram(fake_api.base_url), "INTAKE_TELEGRAM_TOKEN"),
        "no secret": (
            telegram(fake_api.base_url, webhook_url="https://bot.example/hook"),
            "INTAKE_WEBHOOK_SECRET",
        ),
    }
    running = {}
    for name, (settings, _) in cases.items():
        folder = tmp_path / name.replace(" ", "_")
        folder.mkdir()
        running[name] = start(folder, **settings)
    for name, process in running.items():
        _, stderr = await asyncio.to_thread(process.communicate, timeout=120)
        lines = stderr.strip().splitlines()
        assert process.returncode == 2, (name, stderr)
        assert len(lines) == 1, (name, stderr)
        assert cases[name][1] in lines[0], (name, lines[0])
        assert "Traceback" not in stderr
        assert "right-token" not in stderr


def test_good_settings_pass_the_checks(tmp_path: Path) -> None:
    """Phone numbers in their usual shapes and a real booking link raise no problem."""
    for number in ("112", "999", "+44 20 7946 0958", "(555) 010-9999", "000"):
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None, emergency_number=number, booking_url=GOOD_BOOKING, encryption_key=KEY
        )
        assert problems(settings, Mode(telegram=True)) == []


@pytest.mark.parametrize("number", ["call-someone", "1", "", "++112", "112 or 999", "dial 112"])
def test_numbers_nobody_can_dial_are_problems(number: str) -> None:
    """An emergency number must be digits (an optional +, spaces, dashes, brackets)."""
    settings = Settings(_env_file=None, emergency_number=number)  # type: ignore[call-arg]
    [problem] = problems(settings, Mode(telegram=False))
    assert problem.startswith("setting INTAKE_EMERGENCY_NUMBER:")


def test_the_placeholder_link_is_fine_in_the_terminal_only() -> None:
    """The shipped booking placeholder is allowed for the terminal demo, not on Telegram."""
    settings = Settings(_env_file=None, encryption_key=KEY)  # type: ignore[call-arg]
    assert problems(settings, Mode(telegram=False)) == []
    [problem] = problems(settings, Mode(telegram=True))
    assert "placeholder" in problem


def test_telegram_needs_a_key_and_a_review_chat_needs_clinicians() -> None:
    """Telegram mode without INTAKE_ENCRYPTION_KEY, a review chat without clinicians: one line
    each; the terminal demo needs neither."""
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, booking_url=GOOD_BOOKING, review_chat_id=-100
    )
    assert problems(settings, Mode(telegram=False)) == []
    found = problems(settings, Mode(telegram=True))
    assert [line.split(":")[0] for line in found] == [
        "setting INTAKE_ENCRYPTION_KEY",
        "setting INTAKE_CLINICIAN_IDS",
    ]
    allowed = settings.model_copy(update={"clinician_ids": "42"})
    assert problems(allowed, Mode(telegram=True))[0].startswith("setting INTAKE_ENCRYPTION_KEY")
