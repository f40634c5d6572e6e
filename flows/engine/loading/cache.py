"""Validated flows cached by content hash, so a process skips the YAML parser and the checks.

Parsing the bundled flow with line numbers (ruamel's round-trip loader) and checking it took
most of every CLI call's start-up. A flow that passed every check is written as JSON to a
private folder under the sha256 of its text and of the engine code that checked it, and read
back through the pydantic model: data only, never pickle, so a bad file cannot run code.

A cache file is used only when all of this holds, else it is ignored and the YAML loaded as
before: the folder and the file belong to this user and nobody else may write them, the file is
a regular file (no symlink), it is valid JSON naming the same key, and its flow validates.
Line numbers matter only for problems, and only a flow without problems is ever cached.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import sys
import tempfile
from pathlib import Path

from pydantic import ValidationError

from flows.engine.format.model import Flow

FORMAT = "1"  # bump when the stored shape changes
MAX_BYTES = 8 * 1024 * 1024
_ENGINE = Path(__file__).resolve().parents[1]  # flows/engine: the code a cached flow passed
_OTHERS_WRITE = stat.S_IWGRP | stat.S_IWOTH


class FlowCache:
    """Validated flows in `directory`, one JSON file per (flow text, engine code)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._stamp: str | None = None

    def get(self, digest: str) -> Flow | None:
        """The cached flow of the text with this sha256, or None (missing or not trusted)."""
        key = self._key(digest)
        try:
            if not _private_folder(self.directory, create=False):
                return None
            data = _read_own_file(self.directory / f"{key}.json")
            stored = json.loads(data)
            if not isinstance(stored, dict) or stored.get("key") != key:
                return None
            return Flow.model_validate(stored["flow"])
        except (OSError, ValueError, KeyError, ValidationError):
            return None

    def put(self, digest: str, flow: Flow) -> None:
        """Keep a flow that passed every check; a folder that cannot be used is skipped."""
        key = self._key(digest)
        body = json.dumps({"key": key, "flow": flow.model_dump(mode="json", by_alias=True)})
        try:
            if not _private_folder(self.directory, create=True):
                return
            handle, temporary = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
            with os.fdopen(handle, "w", encoding="utf-8") as out:  # mkstemp: mode 0600
                out.write(body)
            os.replace(temporary, self.directory / f"{key}.json")
        except OSError:
            return

    def _key(self, digest: str) -> str:
        if self._stamp is None:
            self._stamp = engine_stamp()
        return hashlib.sha256(f"{FORMAT}:{self._stamp}:{digest}".encode()).hexdigest()


def engine_stamp() -> str:
    """A hash of the engine code (paths, sizes, modification times) and the Python version.

    Changed checks or models must not trust a flow cached by older code.
    """
    digest = hashlib.sha256(sys.version.encode())
    for path in sorted(_ENGINE.rglob("*.py")):
        info = path.stat()
        digest.update(f"{path.relative_to(_ENGINE)}:{info.st_size}:{info.st_mtime_ns};".encode())
    return digest.hexdigest()


def _private_folder(directory: Path, *, create: bool) -> bool:
    """Whether `directory` is a real folder of ours that nobody else can write (made if asked)."""
    if create:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        info = directory.lstat()
    except FileNotFoundError:
        return False
    return (
        stat.S_ISDIR(info.st_mode)
        and info.st_uid == os.geteuid()
        and not info.st_mode & _OTHERS_WRITE
    )


def _read_own_file(path: Path) -> str:
    """The text of a regular file of ours that nobody else can write; OSError otherwise."""
    handle = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(handle, "rb") as source:
        info = os.fstat(source.fileno())
        mine = info.st_uid == os.geteuid() and not info.st_mode & _OTHERS_WRITE
        if not stat.S_ISREG(info.st_mode) or not mine or info.st_size > MAX_BYTES:
            raise PermissionError(f"not a private cache file: {path.name}")
        return source.read().decode("utf-8")
