"""Start-up as an operator meets it: real `intake-bot` processes, the environment only.

Telegram mode refuses to run without INTAKE_ENCRYPTION_KEY, with a review chat and no
clinicians (before anything talks to Telegram), or with a key that does not open the database
(before anything is polled): one line each, exit code 2. The terminal demo may run without a
key and says so once. Files the process creates (the SQLite database and its WAL) are readable
by their owner only.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

from storage.sealing import new_key
from tests.bot.fake_bot_api import TOKEN as TOKEN_ACCEPTED
from tests.bot.fake_bot_api import FakeBotApi

TOKEN = "123456:TEST-token-never-used"
UNREACHABLE_API = "http://127.0.0.1:9/bot"  # nothing listens: a start that got this far fails


def run_cli(
    tmp_path: Path, *args: str, env: dict[str, str], stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """`intake-bot <args>` in a fresh folder (no .env), with only the given INTAKE_ settings."""
    return subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", *args],
        cwd=tmp_path,
        env=clean_env(env),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def clean_env(settings: dict[str, str]) -> dict[str, str]:
    """The test's environment without any INTAKE_ variable, plus `settings`."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("INTAKE_")}
    root = str(Path(__file__).resolve().parents[2])
    return {**base, "PYTHONPATH": root, **settings}


def telegram_env(tmp_path: Path, **settings: str) -> dict[str, str]:
    """Telegram-mode settings on a SQLite file in tmp_path."""
    return {
        "INTAKE_TELEGRAM_TOKEN": TOKEN,
        "INTAKE_TELEGRAM_API_URL": UNREACHABLE_API,
        "INTAKE_DATABASE_URL": f"sqlite:///{tmp_path / 'intake.db'}",
        "INTAKE_BOOKING_URL": "https://book.example.org/p?ref={intake_id}",
        **settings,
    }


def test_run_with_a_token_and_no_key_exits_2_naming_the_key(tmp_path: Path) -> None:
    """The must-show: one line naming INTAKE_ENCRYPTION_KEY, exit code 2, no database made."""
    done = run_cli(tmp_path, "run", env=telegram_env(tmp_path))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("setting INTAKE_ENCRYPTION_KEY: required on Telegram")
    assert "Traceback" not in done.stdout + done.stderr
    assert not (tmp_path / "intake.db").exists()


def test_a_review_chat_without_clinicians_is_refused(tmp_path: Path) -> None:
    """Notices with nobody allowed to open them: one line naming INTAKE_CLINICIAN_IDS."""
    env = telegram_env(tmp_path, INTAKE_ENCRYPTION_KEY=new_key(), INTAKE_REVIEW_CHAT_ID="-100")
    done = run_cli(tmp_path, "run", env=env)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("setting INTAKE_CLINICIAN_IDS: required when")


async def test_a_key_that_does_not_open_the_database_is_one_line(
    tmp_path: Path, fake_api: FakeBotApi
) -> None:
    """A database sealed with one key, started with another (the Bot API accepts the token):
    the canary says so at once, before anything is polled."""
    demo = {"INTAKE_DATABASE_URL": f"sqlite:///{tmp_path / 'intake.db'}"}
    first = run_cli(tmp_path, "chat", env={**demo, "INTAKE_ENCRYPTION_KEY": new_key()})
    assert first.returncode == 0, first.stderr
    env = telegram_env(
        tmp_path,
        INTAKE_ENCRYPTION_KEY=new_key(),
        INTAKE_TELEGRAM_TOKEN=TOKEN_ACCEPTED,
        INTAKE_TELEGRAM_API_URL=fake_api.base_url,
    )
    done = await asyncio.to_thread(run_cli, tmp_path, "run", env=env)
    assert not fake_api.calls_of("getUpdates")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("error: INTAKE_ENCRYPTION_KEY does not open this database")


def test_the_demo_runs_without_a_key_says_so_once_and_its_files_are_private(
    tmp_path: Path,
) -> None:
    """`intake-bot chat` without a key works, notes it once on stderr, and the database file
    and its WAL (looked at while the process runs) are mode 0600 whatever the umask."""
    db = tmp_path / "intake.db"
    env = clean_env({"INTAKE_DATABASE_URL": f"sqlite:///{db}"})
    old = os.umask(0o022)
    try:
        process = subprocess.Popen(
            [sys.executable, "-c", "from bot.cli import main; main()", "chat"],
            cwd=tmp_path,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    finally:
        os.umask(old)
    assert process.stdin is not None
    process.stdin.write("I agree\n40\n")
    process.stdin.flush()
    wal = Path(f"{db}-wal")
    deadline = time.monotonic() + 30
    while not (wal.exists() and wal.stat().st_size) and time.monotonic() < deadline:
        time.sleep(0.05)
    modes = {path.name: path.stat().st_mode & 0o777 for path in (db, wal)}
    out, err = process.communicate("/quit\n", timeout=30)
    assert process.returncode == 0, err
    assert modes == {"intake.db": 0o600, "intake.db-wal": 0o600}
    assert err.count("INTAKE_ENCRYPTION_KEY is not set") == 1
    assert "40 years" in out or "Question" in out


def test_the_demo_refuses_postgresql_without_a_key(tmp_path: Path) -> None:
    """PostgreSQL is the production store: no unencrypted demo on it."""
    env = {"INTAKE_DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none"}
    done = run_cli(tmp_path, "chat", env=env)
    assert done.returncode == 2
    assert done.stderr.startswith("setting INTAKE_ENCRYPTION_KEY: required with PostgreSQL")
