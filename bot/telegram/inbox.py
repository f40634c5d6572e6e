"""The durable inbox, bot side: every update is committed before Telegram is told it arrived.

`InboxQueue` is the Application's update queue. Its `put` (what PTB's Updater calls for each
polled update; the webhook calls `receive` with the raw body) stages the update; the staged
updates are committed to the inbox, one `INSERT` each in one transaction, then queued in
memory for the processor. Polling only confirms an offset on its next `getUpdates`, which
`InboxGate` sends only after that commit, and the webhook answers 200 only after `receive`
returned (committed): a crash or `kill -9` loses nothing.

Each row names the instance that queued it (`Settings.instance_name`: host and listening address,
the same after a restart). Instances beat a heartbeat (`beat`); on start an instance takes
back its own pending updates and those of instances that stopped beating, and every
`SWEEP_SECONDS` it adopts the updates of instances that died since (`adopt`). On PostgreSQL
"died" is exact and immediate rather than a heartbeat timeout: each instance holds a lock on
its name while it runs, which the server drops with the dead process's connection
(`storage.inbox.names_released`); a live instance with a late heartbeat keeps its rows. An
update is
applied at most once whoever holds it (`storage.inbox.claim`). Inbox writes run on the
database's executor, queued with the turns. If the database refuses the write, the update
is queued all the same, marked unsaved: the patient then gets the failed-turn reply at once
(with the emergency number) rather than silence, and the update is not retried.

Payloads are sealed with the database's sealer (they hold patients' words) and dropped as soon
as the update is applied. A row knows its chat by a keyed hash of the chat id; the id itself
is sealed beside it, read only to resend a lost reply. Both follow the keys: `keys rotate`
re-seals the rows and renews the hashes, and an update sealed with a key still listed is read
after a restart.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import UTC, datetime, timedelta
from enum import Enum
from http import HTTPStatus
from typing import Any

from sqlalchemy import Connection
from telegram import Bot, Update
from telegram._utils.types import ODVInput  # the type PTB's own transports use
from telegram.request import BaseRequest, RequestData

from bot.telegram.poll import read_poll
from bot.telegram.processor import chat_key
from storage import inbox
from storage.database import Database

_LOG = logging.getLogger(__name__)
SWEEP_SECONDS = 1.0  # how often the heartbeat is written and dead instances' updates adopted
DEAD_AFTER = timedelta(seconds=30)  # an instance not seen for this long has died
RETRY_SECONDS = 1.0  # a deferred update given up by the processor is queued again after this
STUCK_LIMIT = 10_000  # updates remembered as not closable (the database refused)
NAME_WAIT_SECONDS = 10.0  # at start: how long to wait for our name (a takeover may hold it)
EVER = datetime(2000, 1, 1, tzinfo=UTC)  # PostgreSQL: the name lock, not the heartbeat, decides


class Received(Enum):
    """What committing a received update found."""

    NEW = "new"
    PENDING = "pending"  # received before and not applied yet
    SEEN = "seen"  # received and applied (or given up) before
    UNSAVED = "unsaved"  # the database refused it


class InboxStore:
    """The inbox rows of one database, sealed and unsealed, for the instance `instance`."""

    def __init__(self, database: Database, instance: str) -> None:
        self.database = database
        self.instance = instance
        self.started = datetime.now(UTC)  # replies owed from before: a dead process's
        self._name: Connection | None = None  # PostgreSQL: holds the lock on our name

    def hold_name(self, wait: float = 0.0) -> bool:
        """Take this instance's name (PostgreSQL), waiting up to `wait` seconds for it."""
        if self.database.is_sqlite or self._name is not None:
            return True
        deadline = time.monotonic() + wait
        connection = self.database.engine.connect()
        while not inbox.hold_name(connection, instance=self.instance):
            connection.rollback()
            if time.monotonic() > deadline:
                connection.close()
                _LOG.error("inbox.name_taken")  # another process runs under our name
                return False
            time.sleep(0.1)
        connection.commit()  # the lock is the session's; end the transaction around it
        self._name = connection
        return True

    def release_name(self) -> None:
        """Give our name back (at stop)."""
        if self._name is not None:
            self._name.close()
            self._name = None

    def _alive_since(self) -> datetime:
        if self.database.is_sqlite or self._name is None:
            return datetime.now(UTC) - DEAD_AFTER
        return EVER

    def keep(self, update: Update, raw: bytes | None = None) -> Received:
        """Commit a received update (the raw webhook body when there is one)."""
        return self.keep_all([(update, raw)])[0]

    def keep_all(self, received: list[tuple[Update, bytes | None]]) -> list[Received]:
        """Commit received updates in one transaction; what each one found, in order."""
        sealer = self.database.sealer
        found = []
        with self.database.transaction() as tx:
            for update, raw in received:
                payload = raw.decode() if raw is not None else update.to_json()
                chat = chat_key(update) or 0
                if inbox.receive(
                    tx,
                    update_id=update.update_id,
                    chat_hash=sealer.lookup_hash(chat),
                    chat=sealer.seal(str(chat)),
                    payload=sealer.seal(payload),
                    owner=self.instance,
                ):
                    found.append(Received.NEW)
                    continue
                status = inbox.status_of(tx, update_id=update.update_id)
                found.append(Received.PENDING if status == inbox.PENDING else Received.SEEN)
        return found

    def beat(self, *, wait: float = 0.0) -> None:
        """Record that this instance is alive (and hold its name, waiting up to `wait`)."""
        self.hold_name(wait)
        with self.database.transaction() as tx:
            inbox.heartbeat(tx, instance=self.instance)

    def adopt(self, bot: Bot, *, own: bool) -> list[Update]:
        """Take over the pending updates of dead instances (and our own, at start)."""
        with self.database.transaction() as tx:
            dead = inbox.names_released(tx, instance=self.instance)
            if not (own or dead or self._name is None):
                return []  # every other instance holds its name: nothing to take over
            rows = inbox.adopt(
                tx, instance=self.instance, alive_since=self._alive_since(), own=own, dead=dead
            )
        return self._decode(rows, bot)

    def adopt_owed(self, *, own: bool) -> dict[int, list[int]]:
        """Take over applied updates whose replies may be lost: update ids by chat.

        A chat that has sent anything newer since is left out (its rows are closed): the newer
        update has its own reply, and a resend from here could cross it.
        """
        with self.database.transaction() as tx:
            dead = inbox.names_released(tx, instance=self.instance)
            if not (own or dead or self._name is None):
                return {}
            rows = inbox.adopt_owed(
                tx,
                instance=self.instance,
                alive_since=self._alive_since(),
                own=own,
                dead=dead,
                applied_before=self.started,
            )
            by_hash: dict[int, list[int]] = {}
            sealed_chat: dict[int, str] = {}
            closed = []
            for update_id, chat_hash, chat in rows:
                if chat is None:  # forgotten (an erased intake): nobody to resend to
                    closed.append(update_id)
                    continue
                by_hash.setdefault(chat_hash, []).append(update_id)
                sealed_chat[chat_hash] = chat
            latest = inbox.newest(tx, chat_hashes=list(by_hash)) if by_hash else {}
            overtaken = [h for h, ids in by_hash.items() if latest.get(h, 0) > max(ids)]
            closed += [u for h in overtaken for u in by_hash.pop(h)]
            if closed:
                inbox.delivered(tx, update_ids=closed)
        return {self._chat(sealed_chat[h]): ids for h, ids in by_hash.items()}

    def overtaken(self, chat: int, update_ids: list[int]) -> bool:
        """Whether the chat sent an update newer than these since (it has its own reply)."""
        chat_hash = self.database.sealer.lookup_hash(chat)
        with self.database.reading() as tx:
            latest = inbox.newest(tx, chat_hashes=[chat_hash]).get(chat_hash, 0)
        return latest > max(update_ids)

    def _chat(self, sealed: str) -> int:
        return int(self.database.sealer.unseal(sealed))

    def delivered(self, update_ids: list[int]) -> None:
        """Record that the replies of these updates went out."""
        with self.database.transaction() as tx:
            inbox.delivered(tx, update_ids=update_ids)

    def pending_before(self, update: Update, bot: Bot) -> list[Update]:
        """The same chat's pending updates older than `update`, oldest first."""
        chat_hash = self.database.sealer.lookup_hash(chat_key(update) or 0)
        with self.database.reading() as tx:
            rows = inbox.pending_before(tx, chat_hash=chat_hash, update_id=update.update_id)
        return self._decode(rows, bot)

    def finish(self, update_id: int, *, failed: bool = False) -> None:
        """Close an update no turn claimed (another handler's, or a failed turn's)."""
        with self.database.transaction() as tx:
            inbox.finish(tx, update_id=update_id, status=inbox.FAILED if failed else inbox.DONE)

    def _decode(self, rows: list[tuple[int, str]], bot: Bot) -> list[Update]:
        updates = []
        for update_id, sealed in rows:
            try:
                data = json.loads(self.database.sealer.unseal(sealed))
                updates.append(Update.de_json(data, bot))
            except Exception as exc:  # an unreadable row must not block its chat forever
                _LOG.error("inbox.unreadable update_id=%s error=%s", update_id, type(exc).__name__)
                self.finish(update_id, failed=True)
        return updates


class InboxQueue(asyncio.Queue[object]):
    """The Application's update queue, committing each update before it is acknowledged.

    Updates put in one go (a `getUpdates` batch, webhook posts arriving together) are committed
    together, in one transaction on the database's executor; the next `getUpdates` (which
    acknowledges them) waits for that commit (`InboxGate`), as does `join`.
    """

    def __init__(self, store: InboxStore) -> None:
        super().__init__()
        self.store = store
        self.bot: Bot | None = None  # set by `bind`: updates read back from rows need it
        self.queued: set[int] = set()  # update ids in memory here, not yet applied
        self.unsaved: set[int] = set()  # of those, the ones the database refused
        self.stuck: set[int] = set()  # could not be closed: not queued again by this process
        self.replied: list[int] = []  # applied updates whose replies went out, to record
        self.noted = asyncio.Event()  # set when `replied` gained an update
        self.write_failures = 0
        self._staged: list[tuple[Update, bytes | None, asyncio.Future[Received] | None]] = []
        self._committing: asyncio.Task[None] | None = None
        self.polled: dict[int, bytes] = {}  # the last poll's updates as Telegram sent them

    def bind(self, bot: Bot) -> None:
        """The bot that updates read back from the database belong to."""
        self.bot = bot

    async def put(self, item: object) -> None:
        """Stage an update for the next commit, then queue it; other items (PTB's stop signal)
        pass through once the staged updates are queued."""
        if isinstance(item, Update):
            if item.update_id not in self.queued:
                self._stage(item, self.polled.pop(item.update_id, None), None)
        else:
            await self.committed()
            await super().put(item)

    async def receive(self, update: Update, raw: bytes | None = None) -> Received:
        """Commit `update` to the inbox and queue it unless it was applied before."""
        if update.update_id in self.queued:
            return Received.PENDING
        found: asyncio.Future[Received] = asyncio.get_running_loop().create_future()
        self._stage(update, raw, found)
        return await found

    def remember_poll(self, body: bytes) -> dict[str, Any] | None:
        """Keep a poll's updates as sent (stored as they are, not serialised again by PTB);
        the parsed body, pressed keyboards left out, for PTB (see `InboxGate`)."""
        try:
            parsed, texts = read_poll(body)
            result = parsed["result"]
            sent = zip(result, texts, strict=True)
            self.polled = {item["update_id"]: raw.encode() for item, raw in sent}
        except (ValueError, TypeError, KeyError):
            self.polled = {}  # PTB reports the error; `put` then stores PTB's own JSON
            return None
        for item in result:
            drop_pressed_keyboard(item)
        return parsed

    async def committed(self) -> None:
        """Wait until every staged update is committed (or refused) and queued."""
        while self._committing is not None:
            await asyncio.shield(self._committing)

    async def join(self) -> None:
        """Wait until every update put is committed and handled."""
        await self.committed()
        await super().join()

    def _stage(
        self, update: Update, raw: bytes | None, found: asyncio.Future[Received] | None
    ) -> None:
        self.queued.add(update.update_id)  # a repeat before the commit is pending already
        self._staged.append((update, raw, found))
        if self._committing is None:
            self._committing = asyncio.get_running_loop().create_task(self._commit())

    async def _commit(self) -> None:
        """Commit the staged updates in one transaction, then queue the ones to apply."""
        try:
            while self._staged:
                batch, self._staged = self._staged, []
                results = await self._keep([(update, raw) for update, raw, _ in batch])
                for (update, _, found), result in zip(batch, results, strict=True):
                    if result is Received.SEEN:
                        self.queued.discard(update.update_id)
                    else:
                        super().put_nowait(update)
                    if found is not None and not found.done():
                        found.set_result(result)
        finally:
            self._committing = None

    async def _keep(self, received: list[tuple[Update, bytes | None]]) -> list[Received]:
        try:
            return await self.store.database.run(self.store.keep_all, received)
        except Exception as exc:
            for update, _ in received:
                _LOG.error(
                    "inbox.write_failed update_id=%s error=%s", update.update_id, type(exc).__name__
                )
                self.write_failures += 1
                self.unsaved.add(update.update_id)
            return [Received.UNSAVED] * len(received)

    async def resume(self, *, own: bool = False) -> int:
        """Queue the pending updates of dead instances (with `own`, ours too); how many."""
        assert self.bot is not None
        await asyncio.to_thread(self.store.beat, wait=NAME_WAIT_SECONDS if own else 0.0)
        updates = await asyncio.to_thread(self.store.adopt, self.bot, own=own)
        skip = self.queued | self.stuck
        fresh = [u for u in updates if u.update_id not in skip]
        for update in fresh:
            self.queued.add(update.update_id)
            super().put_nowait(update)
        if fresh:
            _LOG.info("inbox.resumed count=%s", len(fresh))
        return len(fresh)

    def retry_later(self, update: Update) -> None:
        """Queue an update again in a moment (its chat's older updates were still pending)."""
        self.queued.add(update.update_id)
        loop = asyncio.get_running_loop()
        loop.call_later(RETRY_SECONDS, super().put_nowait, update)

    async def older_than(self, update: Update) -> list[Update]:
        """The chat's pending updates older than `update`, oldest first."""
        assert self.bot is not None
        return await self.store.database.run(self.store.pending_before, update, self.bot)

    async def close(self, update_id: int, *, failed: bool) -> None:
        """Close an update no turn claimed; if the database refuses, it stays pending (this
        process does not take it again; after a restart it is applied again)."""
        try:
            await self.store.database.run(self.store.finish, update_id, failed=failed)
        except Exception as exc:
            _LOG.error("inbox.close_failed update_id=%s error=%s", update_id, type(exc).__name__)
            if len(self.stuck) > STUCK_LIMIT:
                self.stuck.clear()
            self.stuck.add(update_id)

    def delivered(self, update_id: int) -> None:
        """Note that an applied update's reply went out (recorded by `record_delivered`)."""
        self.replied.append(update_id)
        self.noted.set()

    async def record_delivered(self) -> None:
        """Record the replies noted since the last call, in one statement."""
        self.noted.clear()
        replied, self.replied = self.replied, []
        if replied:
            try:
                await self.store.database.run(self.store.delivered, replied)
            except Exception:
                self.replied.extend(replied)  # next time
                raise

    async def overtaken(self, chat: int, update_ids: list[int]) -> bool:
        """Whether the chat sent something newer than these updates (see `InboxStore`)."""
        return await asyncio.to_thread(self.store.overtaken, chat, update_ids)

    async def owed(self, *, own: bool = False) -> dict[int, list[int]]:
        """Replies that may have been lost with a dead instance (ours too, with `own`)."""
        return await asyncio.to_thread(self.store.adopt_owed, own=own)

    def applied(self, update_id: int) -> None:
        """Forget an update the processor is done with."""
        self.queued.discard(update_id)
        self.unsaved.discard(update_id)


def drop_pressed_keyboard(update: dict[str, Any]) -> None:
    """Leave out the keyboard of the message whose button was pressed (in place).

    Telegram sends the whole keyboard back with every press; nothing reads it (a turn knows its
    question), and building its buttons as PTB objects cost more than the rest of the update.
    """
    query = update.get("callback_query")
    message = query.get("message") if isinstance(query, dict) else None
    if isinstance(message, dict):
        message.pop("reply_markup", None)


class InboxGate(BaseRequest):
    """The `getUpdates` transport: a poll (which acknowledges the updates before it) is sent
    only once the inbox has committed them. The poll's body is parsed once, for the inbox and
    for PTB."""

    def __init__(self, request: BaseRequest, queue: InboxQueue) -> None:
        self.request = request
        self.queue = queue
        self._parsed: tuple[bytes, dict[str, Any] | None] = (b"", None)

    @property
    def read_timeout(self) -> float | None:
        """The wrapped transport's read timeout."""
        return self.request.read_timeout

    async def initialize(self) -> None:
        """Open the wrapped transport."""
        await self.request.initialize()

    async def shutdown(self) -> None:
        """Close the wrapped transport."""
        await self.request.shutdown()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Wait for the inbox's commit, then send the request; keep the updates it returns."""
        await self.queue.committed()
        status, body = await self.request.do_request(
            url, method, request_data, read_timeout, write_timeout, connect_timeout, pool_timeout
        )
        if status == HTTPStatus.OK:
            self._parsed = (body, self.queue.remember_poll(body))
        return status, body

    def parse_json_payload(self, payload: bytes) -> dict[str, Any]:  # type: ignore[override]
        """The body `do_request` parsed already (PTB parses what it returns), else parse it."""
        body, parsed = self._parsed
        self._parsed = (b"", None)
        if payload is body and parsed is not None:
            return parsed
        return BaseRequest.parse_json_payload(payload)
