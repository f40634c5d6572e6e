"""The files the active flow is loaded from, and a fingerprint that changes when they do.

A running bot polls `FlowFiles.fingerprint` to notice an edited flow (no file-watching
dependency): the sha256 of every `*.yaml` in the flows folder, or of the one flow file given.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

Fingerprint = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class FlowFiles:
    """Where the active flow comes from: one file, or every flow file of a folder."""

    flows_dir: Path
    flow_file: Path | None = None

    def paths(self) -> list[Path]:
        """The files to watch."""
        if self.flow_file is not None:
            return [self.flow_file]
        return sorted(self.flows_dir.glob("*.yaml"))

    def fingerprint(self) -> Fingerprint:
        """(file, sha256 of its bytes) of every watched file; unreadable files count as gone."""
        found = []
        for path in self.paths():
            try:
                found.append((str(path), hashlib.sha256(path.read_bytes()).hexdigest()))
            except OSError:
                continue
        return tuple(found)
