"""Flow versions in use: the active flow from its file, older versions from the database.

Every version a session starts on is stored (see `flows.snapshots`) so the session finishes on
it, whatever happens to the file. `reload` loads the active flow's files again while the bot
runs: a new valid version becomes the one new sessions start on, sessions in progress stay on
theirs, and an invalid or changed-without-a-new-version file is refused and the current
version kept. Compiled conversations are cached per (flow id, version). A registry for a
channel without buttons (`typed`) compiles each flow with its `typed_messages`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from flows.engine.conversation.turns import Conversation
from flows.engine.format.model import Flow
from flows.engine.format.problems import FlowError, Problem
from flows.engine.loading.cache import FlowCache
from flows.engine.loading.loader import LoadedFlow, load_flow_file, load_flows_dir
from flows.snapshots import pin, stored_snapshot
from storage.database import Database
from storage.tables import FlowVersion

log = logging.getLogger(__name__)

ACTIVATED, UNCHANGED, REFUSED = "activated", "unchanged", "refused"


@dataclass(frozen=True)
class Reload:
    """What a reload did: `activated` a new version, found it `unchanged`, or `refused` it."""

    result: str
    flow_id: str
    version: int
    problems: list[Problem] = field(default_factory=list)


class FlowRegistry:
    """The active flow and every stored version, compiled on first use."""

    def __init__(
        self,
        active: LoadedFlow,
        database: Database,
        *,
        source: Callable[[], LoadedFlow] | None = None,
        typed: bool = False,
    ) -> None:
        self.database = database
        self.typed = typed
        self._source = source  # loads the active flow's files again (hot reload)
        self._compiled: dict[tuple[str, int], Conversation] = {}
        self._lock = threading.Lock()
        self._reloading = threading.Lock()
        pin(database, active)
        self.active_loaded = active
        self._current: Conversation | None = None  # compiled on first use (not by the CLI)

    @property
    def active(self) -> Flow:
        """The flow new sessions start on (as this channel runs it)."""
        return self.active_conversation().flow

    def active_conversation(self) -> Conversation:
        """The compiled active flow."""
        current = self._current
        if current is None:
            current = self._current = self._compile(self.active_loaded.flow)
        return current

    def get(self, flow_id: str, version: int) -> Conversation:
        """The compiled conversation of a flow version (active or stored)."""
        with self._lock:
            found = self._compiled.get((flow_id, version))
        if found is not None:
            return found
        flow = stored_snapshot(self.database, flow_id, version, self.active_loaded.flow)
        return self._compile(flow)

    def reload(self) -> Reload:
        """Load the active flow again; make a new valid version active, or refuse it."""
        if self._source is None:
            raise RuntimeError("this registry was built without a flow source to reload")
        with self._reloading:
            current = self.active_loaded
            try:
                loaded = self._source()
                if loaded.digest == current.digest:
                    return Reload(UNCHANGED, current.flow.id, current.flow.version)
                pin(self.database, loaded)
            except FlowError as error:
                version = current.flow.version
                return Reload(REFUSED, current.flow.id, version, list(error.problems))
            conversation = self._compile(loaded.flow)
            self.active_loaded, self._current = loaded, conversation
            return Reload(ACTIVATED, loaded.flow.id, loaded.flow.version)

    def flow(self, flow_id: str, version: int) -> Flow:
        """A flow version's definition (active, compiled or stored), without compiling it."""
        active = self.active_loaded.flow
        if (flow_id, version) == (active.id, active.version):
            return active
        with self._lock:
            found = self._compiled.get((flow_id, version))
        if found is not None:
            return found.flow
        return stored_snapshot(self.database, flow_id, version, active)

    def _compile(self, flow: Flow) -> Conversation:
        key = (flow.id, flow.version)
        with self._lock:
            found = self._compiled.get(key)
        if found is not None:
            return found
        # compiled outside the lock: a reload compiling a new version holds up no turn
        compiled = Conversation(flow.typed_variant() if self.typed else flow)
        with self._lock:
            return self._compiled.setdefault(key, compiled)


def load_active(
    *, flows_dir: Path, flow_id: str, flow_file: Path | None = None, cache: FlowCache | None = None
) -> LoadedFlow:
    """The flow to run: a given file, else the flow with `flow_id` in `flows_dir`."""
    if flow_file is not None:
        return load_flow_file(flow_file, cache)
    flows = load_flows_dir(flows_dir, cache)
    if flow_id not in flows:
        known = ", ".join(sorted(flows)) or "none"
        raise FlowError(
            [Problem(str(flows_dir), 1, f"no flow with id '{flow_id}' here (found: {known})")]
        )
    return flows[flow_id]


__all__ = ["FlowRegistry", "FlowVersion", "Reload", "load_active"]
