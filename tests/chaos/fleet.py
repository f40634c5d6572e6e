"""The bot instances of a chaos run: real `intake-bot run` processes in webhook mode on one
database, started, killed with SIGKILL and started again.

Each instance listens on its own loopback port and registers the same webhook URL (the proxy's);
all share the database and the fake Bot API. Their output is read line by line, stamped with
the harness's monotonic clock (the fake Bot API's clock) and kept: in a log file per instance,
so a run can be read afterwards, and in memory (`Fleet.trace`), so the report can say which
instance did what around a duplicate. Kills and starts are kept too (`Fleet.events`).
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import httpx

from storage.sealing import new_key

CLI = Path(sys.executable).parent / "intake-bot"
SECRET = "chaos-webhook-secret"
BOOKING = "https://book.chaos.example/precision?ref={intake_id}"
NUMBER = "999"
KEY = new_key()  # Telegram mode seals at rest; the report reads the rows with it
PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """In the child before exec: get SIGKILL when the chaos run itself dies (Linux)."""
    libc = ctypes.CDLL(None)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


@dataclass
class Instance:
    """One bot process slot: its port, the running process (if any) and its history."""

    index: int
    port: int
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    kills: int = 0

    @property
    def alive(self) -> bool:
        """Whether the process runs."""
        return self.process is not None and self.process.poll() is None


@dataclass
class Fleet:
    """Instances sharing one database and one Bot API, behind one webhook URL."""

    database_url: str
    api_url: str
    webhook_url: str
    logs: Path
    instances: list[Instance] = field(default_factory=list)
    trace: list[tuple[float, int, str]] = field(default_factory=list)  # (when, instance, line)
    events: list[tuple[float, int, str]] = field(default_factory=list)  # (when, instance, what)

    def env(self, instance: Instance) -> dict[str, str]:
        """The settings of an instance (no `.env` is read: the folder is the log folder)."""
        return {
            "PATH": os.environ["PATH"],
            "HOME": str(self.logs),
            "INTAKE_TELEGRAM_TOKEN": "123456:TEST-token-never-logged",
            "INTAKE_TELEGRAM_API_URL": self.api_url,
            "INTAKE_DATABASE_URL": self.database_url,
            "INTAKE_BOOKING_URL": BOOKING,
            "INTAKE_EMERGENCY_NUMBER": NUMBER,
            "INTAKE_WEBHOOK_URL": self.webhook_url,
            "INTAKE_WEBHOOK_SECRET": SECRET,
            "INTAKE_LISTEN": f"127.0.0.1:{instance.port}",
            "INTAKE_LOG_LEVEL": "INFO",
            "INTAKE_ENCRYPTION_KEY": KEY,
        }

    def start(self, instance: Instance) -> None:
        """Start the instance's process (its log appended to)."""
        instance.starts += 1
        self.events.append((time.monotonic(), instance.index, "start"))
        log = (self.logs / f"instance-{instance.index}.log").open("a")
        log.write(f"--- start {instance.starts} at {time.monotonic():.3f}\n")
        log.flush()
        instance.process = subprocess.Popen(
            [str(CLI), "run"],
            cwd=self.logs,
            env=self.env(instance),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )
        reader = threading.Thread(
            target=self._read, args=(instance.index, instance.process, log), daemon=True
        )
        reader.start()

    def _read(self, index: int, process: subprocess.Popen[bytes], log: TextIO) -> None:
        """Stamp, keep and log each output line of one process until it exits."""
        assert process.stdout is not None
        with log:
            for raw in process.stdout:
                now, line = time.monotonic(), raw.decode(errors="replace").rstrip()
                self.trace.append((now, index, line))
                log.write(f"{now:.3f} {line}\n")

    def kill(self, instance: Instance) -> None:
        """SIGKILL the instance (no clean shutdown of any kind)."""
        if instance.process is not None and instance.alive:
            instance.process.send_signal(signal.SIGKILL)
            self.events.append((time.monotonic(), instance.index, "kill"))
            instance.process.wait()
            instance.kills += 1

    def stop_all(self) -> None:
        """SIGTERM every instance and wait for it (turns in progress finish)."""
        for instance in self.instances:
            if instance.process is not None and instance.alive:
                instance.process.send_signal(signal.SIGTERM)
        for instance in self.instances:
            if instance.process is not None:
                try:
                    instance.process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    instance.process.kill()
                    instance.process.wait()

    def healthy(self, instance: Instance) -> bool:
        """Whether the instance answers /healthz with 200."""
        try:
            reply = httpx.get(f"http://127.0.0.1:{instance.port}/healthz", timeout=1)
        except httpx.TransportError:
            return False
        return reply.status_code == 200

    def wait_healthy(self, timeout: float = 180) -> None:
        """Wait until every instance answers /healthz."""
        deadline = time.monotonic() + timeout
        for instance in self.instances:
            while not self.healthy(instance):
                if not instance.alive:
                    raise RuntimeError(f"instance {instance.index} exited at start")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"instance {instance.index} never became healthy")
                time.sleep(0.1)
