"""The sender: the one place that delivers outbox rows to Telegram, most urgent lane first.

One sender per bot token is active. It holds a PostgreSQL session-level advisory lock on a
connection of its own, which also LISTENs for new rows and runs every read of due rows: a sender
whose connection broke can read nothing more, and stops sending at once (before every call it
also checks, without a round trip, that the connection is open). The others stand by, trying the
lock every STANDBY_SECONDS, and one takes over within about a second of the lock being freed
(the process stopped or killed, its connection dropped).

Rows are read ahead a few at a time without claiming them (only the lock holder sends), paced
to Telegram's limits (`pacing`), sent by `concurrency` workers at once, and their outcomes
written back in bulk, one UPDATE every FLUSH_SECONDS or `concurrency` outcomes. A NOTIFY for a
lane more urgent than rows read but not yet sent drops those rows: an urgent message waits only
for the slot already booked (paced, a few tens of milliseconds) before it takes the next.

Duplicates: a row is marked sent only after Telegram accepted it, by the next write-back, one
autocommitted UPDATE within FLUSH_SECONDS (about ten milliseconds in all). If the process dies
in that window (SIGKILL, power loss) or that write-back fails, the row is still pending and the
next active sender sends it again. That window is the only way a message can go out twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Collection, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pydantic
import sqlalchemy as sa
from aiogram import Bot
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageReplyMarkup,
    EditMessageText,
    Response,
    SendMessage,
    SetMyCommands,
    TelegramMethod,
)
from aiogram.types import Message
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import col

from service.alerts.models import Alert, AlertEvent, AlertEventKind
from service.alerts.service import tell_coordinator
from service.audit.models import ActorKind
from service.audit.service import record_audit
from service.clients.models import Client
from service.columns import utcnow
from service.content.service import Messaging
from service.db import is_transient
from service.lifecycle import nap
from service.metrics import SENDER_ACTIVE, count_send
from service.outbox.models import OUTBOX, OutboxStatus
from service.outbox.pacing import UNPACED_METHODS, Pacer, SendLimits
from service.outbox.service import WAKE_CHANNEL

log = logging.getLogger(__name__)

METHODS: dict[str, type[TelegramMethod[Any]]] = {
    "sendMessage": SendMessage,
    "editMessageText": EditMessageText,
    "editMessageReplyMarkup": EditMessageReplyMarkup,
    "answerCallbackQuery": AnswerCallbackQuery,
    "setMyCommands": SetMyCommands,
}
TO_A_CHAT = frozenset(name for name, kind in METHODS.items() if "chat_id" in kind.model_fields)
MAX_ATTEMPTS = 8
UNAUTHORIZED_WAIT = timedelta(minutes=1)  # a revoked token: until the new one is in place
CONCURRENCY = 32
STANDBY_SECONDS = 1.0
IDLE_POLL_SECONDS = 1.0  # also how often an idle sender proves its lock connection alive
FLUSH_SECONDS = 0.005
PREFETCH_SECONDS = 0.1  # paced, rows read ahead are about this much sending
REFUSED = (TelegramBadRequest, TelegramNotFound, TelegramMigrateToChat, TelegramEntityTooLarge)
"""Telegram's answers that will not change if the same call is made again."""
NO_WAKE = 99  # a lane less urgent than any
KEEPALIVES = (  # on the lock's connection: the server drops it after about 11 s of silence
    ("tcp_keepalives_idle", "5"),
    ("tcp_keepalives_interval", "2"),
    ("tcp_keepalives_count", "3"),
)

# A literal, not a parameter: a generic plan then still uses the partial index of pending rows.
PENDING: sa.ColumnClause[str] = sa.literal_column("'pending'")
DUE_ROWS = (
    sa.select(
        OUTBOX.c.id,
        OUTBOX.c.lane,
        OUTBOX.c.chat_id,
        OUTBOX.c.method,
        OUTBOX.c.payload,
        OUTBOX.c.client_id,
        OUTBOX.c.attempts,
    )
    .where(
        OUTBOX.c.status == PENDING,
        OUTBOX.c.not_before <= sa.bindparam("now"),
        OUTBOX.c.id != sa.all_(sa.bindparam("busy", type_=ARRAY(sa.BigInteger))),
        sa.or_(
            OUTBOX.c.chat_id != sa.all_(sa.bindparam("waiting", type_=ARRAY(sa.BigInteger))),
            OUTBOX.c.method.in_(UNPACED_METHODS),
        ),
    )
    .order_by(OUTBOX.c.lane, OUTBOX.c.not_before, OUTBOX.c.id)
    .limit(sa.bindparam("limit"))
)
OUTCOMES = (
    sa.func.unnest(
        sa.bindparam("ids", type_=ARRAY(sa.BigInteger)),
        sa.bindparam("statuses", type_=ARRAY(sa.String)),
        sa.bindparam("attempts", type_=ARRAY(sa.Integer)),
        sa.bindparam("not_befores", type_=ARRAY(sa.DateTime(timezone=True))),
        sa.bindparam("sent_ats", type_=ARRAY(sa.DateTime(timezone=True))),
        sa.bindparam("message_ids", type_=ARRAY(sa.BigInteger)),
        sa.bindparam("errors", type_=ARRAY(sa.String)),
    )
    .table_valued("id", "status", "attempts", "not_before", "sent_at", "message_id", "error")
    .render_derived(name="outcome")
)
WRITE_BACK = (
    sa.update(OUTBOX)
    .where(
        OUTBOX.c.id == OUTCOMES.c.id,
        # a row cancelled meanwhile stays cancelled, unless it went out after all
        sa.or_(OUTBOX.c.status == PENDING, OUTCOMES.c.status == OutboxStatus.sent.value),
    )
    .values(
        status=OUTCOMES.c.status,
        attempts=OUTCOMES.c.attempts,
        not_before=sa.func.coalesce(OUTCOMES.c.not_before, OUTBOX.c.not_before),
        sent_at=OUTCOMES.c.sent_at,
        telegram_message_id=OUTCOMES.c.message_id,
        last_error=sa.func.coalesce(OUTCOMES.c.error, OUTBOX.c.last_error),
    )
)

# The same UPDATE, and in the same statement an alert's `delivered` event for each alert message
# Telegram accepted (its row's reason names the alert): who got it, in which chat, as which
# message (so that acting on the alert can edit it). Joined to the alerts, so that an alert
# erased meanwhile is skipped rather than failing the write-back.
ALERTS: sa.Table = Alert.__table__  # type: ignore[attr-defined]
ALERT_EVENTS: sa.Table = AlertEvent.__table__  # type: ignore[attr-defined]
_WRITTEN = WRITE_BACK.returning(
    OUTBOX.c.id,
    OUTBOX.c.status,
    OUTBOX.c.method,
    OUTBOX.c.reason,
    OUTBOX.c.staff_member_id,
    OUTBOX.c.chat_id,
    OUTBOX.c.sent_at,
    OUTBOX.c.telegram_message_id,
).cte("written")
_NAMED = _WRITTEN.c.reason["alert_id"].astext
_ALERT_ID = sa.case((_NAMED.regexp_match("^[0-9]{1,18}$"), _NAMED.cast(sa.BigInteger)))
WRITE_BACK_AND_DELIVERED = sa.insert(ALERT_EVENTS).from_select(
    ["alert_id", "kind", "staff_member_id", "detail", "created_at"],
    sa.select(
        ALERTS.c.id,
        sa.literal(AlertEventKind.delivered.value),
        _WRITTEN.c.staff_member_id,
        sa.func.jsonb_build_object(
            "outbox_id",
            _WRITTEN.c.id,
            "chat_id",
            _WRITTEN.c.chat_id,
            "message_id",
            _WRITTEN.c.telegram_message_id,
        ),
        _WRITTEN.c.sent_at,
    )
    .select_from(_WRITTEN)
    .join(ALERTS, ALERTS.c.id == _ALERT_ID)
    .where(
        _WRITTEN.c.status == OutboxStatus.sent.value,
        _WRITTEN.c.method == "sendMessage",
        _WRITTEN.c.reason.has_key("alert_id"),
    ),
)

# Chats that must wait: after Telegram's 429 every pending row of theirs (from lane 0); after a
# call that will be tried again, the rows of its lane and less urgent ones, so that none
# overtakes it while a crisis answer still goes. One statement for all of them (an executemany
# could not expand the methods' list).
HELD = (
    sa.func.unnest(
        sa.bindparam("chats", type_=ARRAY(sa.BigInteger)),
        sa.bindparam("untils", type_=ARRAY(sa.DateTime(timezone=True))),
        sa.bindparam("from_lanes", type_=ARRAY(sa.SmallInteger)),
    )
    .table_valued("chat", "until", "from_lane")
    .render_derived(name="held")
)
HOLD_CHATS = (
    sa.update(OUTBOX)
    .where(
        OUTBOX.c.status == PENDING,
        OUTBOX.c.chat_id == HELD.c.chat,
        OUTBOX.c.lane >= HELD.c.from_lane,
        OUTBOX.c.method.not_in(UNPACED_METHODS),
    )
    .values(not_before=sa.func.greatest(OUTBOX.c.not_before, HELD.c.until))
)


def backoff(attempts: int) -> timedelta:
    """Wait before retrying after a server or network error: 2, 4, 8 ... up to 300 seconds."""
    return timedelta(seconds=min(300, 2**attempts))


def lock_key(bot_id: int) -> int:
    """The active sender's advisory lock for this bot: a stable 64-bit hash, the same in every
    process and release (Python's `hash` of a string is neither)."""
    digest = hashlib.blake2b(f"aftercare-sender:{bot_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@dataclass(frozen=True, slots=True)
class Due:
    """A pending row as the sender needs it (no ORM object: there are thousands a second)."""

    id: int
    lane: int
    chat_id: int
    method: str
    payload: dict[str, Any]
    client_id: int | None
    attempts: int


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one call, to be written back with the others."""

    row: Due
    status: OutboxStatus
    attempts: int
    not_before: datetime | None = None
    sent_at: datetime | None = None
    message_id: int | None = None
    error: str | None = None
    flood: bool = False  # 429: the chat waits until not_before
    held: bool = False  # the chat waits until not_before (after a 429, or a call to try again)
    blocked: bool = False  # 403: the client blocked the bot
    unauthorized: bool = False  # 401: the token was refused; the row waits for a valid one


def outcome_label(outcome: Outcome) -> str:
    """The outcome's name in `aftercare_messages_sent_total` (one of `metrics.OUTCOMES`)."""
    if outcome.status is OutboxStatus.sent:
        return "sent"
    if outcome.flood:
        return "rate_limited"
    if outcome.unauthorized:
        return "unauthorized"
    if outcome.blocked:
        return "blocked"
    return "retried" if outcome.status is OutboxStatus.pending else "failed"


class Sender:
    """Delivers the outbox. `run` is the service's loop; `send_next` drives one call (tests)."""

    def __init__(
        self,
        bot: Bot,
        engine: AsyncEngine,
        sessions: async_sessionmaker[AsyncSession],
        *,
        limits: SendLimits,
        clock: Callable[[], datetime] = utcnow,
        messaging: Messaging | None = None,
        concurrency: int = CONCURRENCY,
    ) -> None:
        self.bot = bot
        self.engine = engine
        self.sessions = sessions
        self.clock = clock
        self.messaging = messaging or Messaging()  # its console URL, for notes to coordinators
        self.concurrency = concurrency
        self.pacer = Pacer(limits)
        self.token_refused = False  # said once in the log, not for every message that waits
        self.lock_key = lock_key(bot.id)
        # Rows read ahead: paced, about PREFETCH_SECONDS of sending; else enough to keep every
        # worker busy while the next rows are read.
        self.read_ahead = (
            max(1, min(concurrency, math.ceil(limits.per_second * PREFETCH_SECONDS)))
            if limits.per_second
            else 4 * concurrency
        )
        # aiogram reads every answer as Response[T], a class pydantic caches only while something
        # refers to it: kept here, it is not rebuilt (milliseconds each time) after a lull.
        self._answers = [Response[kind.__returning__] for kind in METHODS.values()]  # type: ignore[name-defined]

    async def run(self, stop: asyncio.Event) -> None:
        """Send while holding the lock, stand by while another sender holds it, until `stop`;
        then finish the calls in flight, write their outcomes back and free the lock."""
        while not stop.is_set():
            try:
                async with self._lock_connection() as conn:
                    if await self._acquire(conn, stop):
                        SENDER_ACTIVE.inc()
                        try:
                            await _Shift(self, conn, stop).run()
                        finally:
                            SENDER_ACTIVE.dec()
            except Exception as exc:
                failures = connection_lost(exc)
                if failures is None:
                    raise
                log.warning("sender: database connection lost (%s); standing by", failures)
                await nap(stop, STANDBY_SECONDS)

    async def send_next(self) -> bool:
        """Send the most urgent row that may go now and write back its outcome; False when none
        may. The same steps as `run`, one call at a time and without the lock."""
        async with self._autocommit() as conn:
            rows = await self._read(conn, limit=1, busy=())
            booked = [(row, self.pacer.book(row.chat_id, row.method, row.lane)) for row in rows]
            sendable = [(row, delay) for row, delay in booked if delay is not None]
            for row, delay in sendable:
                await asyncio.sleep(delay)
                await self._write([await self._attempt(row)], conn)
        return bool(sendable)

    @asynccontextmanager
    async def _autocommit(self) -> AsyncIterator[AsyncConnection]:
        """A connection on which every statement is its own transaction."""
        async with self.engine.connect() as conn:
            yield await conn.execution_options(isolation_level="AUTOCOMMIT")

    @asynccontextmanager
    async def _lock_connection(self) -> AsyncIterator[AsyncConnection]:
        """A connection of its own, closed at the end: that frees the lock and the LISTEN even
        when it broke halfway. If its host vanishes without closing it, TCP keepalives let the
        server notice within seconds (not the system's two hours) and free the lock."""
        async with self._autocommit() as conn:
            try:
                await conn.execute(
                    sa.select(
                        *(sa.func.set_config(name, value, False) for name, value in KEEPALIVES)
                    )
                )
                yield conn
            finally:
                await conn.invalidate()

    async def _acquire(self, conn: AsyncConnection, stop: asyncio.Event) -> bool:
        """Wait for the lock, trying every STANDBY_SECONDS; False if asked to stop first."""
        while not stop.is_set():
            if await conn.scalar(sa.select(sa.func.pg_try_advisory_lock(self.lock_key))):
                log.info("sender: active for bot %s", self.bot.id)
                return True
            await nap(stop, STANDBY_SECONDS)
        return False

    async def _read(self, conn: AsyncConnection, *, limit: int, busy: Collection[int]) -> list[Due]:
        """The most urgent due rows, but none of `busy` and none to a chat that must wait."""
        result = await conn.execute(
            DUE_ROWS,
            {
                "now": self.clock(),
                "busy": list(busy),
                "waiting": self.pacer.waiting_chats(),
                "limit": limit,
            },
        )
        return [Due(*row) for row in result]

    async def _attempt(self, row: Due) -> Outcome:
        """Make the call, and count it; never raises for anything Telegram or the network
        answers."""
        started: float | None = None
        try:
            chat = {"chat_id": row.chat_id} if row.method in TO_A_CHAT else {}
            call = METHODS[row.method].model_validate({**chat, **row.payload})
            started = time.perf_counter()
            result = await self.bot(call)
        except (TelegramAPIError, ClientDecodeError, KeyError, pydantic.ValidationError) as exc:
            outcome = self._failed(row, exc)  # KeyError: no such method
        else:
            self.token_refused = False
            message_id = result.message_id if isinstance(result, Message) else None
            outcome = Outcome(
                row,
                OutboxStatus.sent,
                row.attempts + 1,
                sent_at=self.clock(),
                message_id=message_id,
            )
        count_send(
            row.lane,
            outcome_label(outcome),
            None if started is None else time.perf_counter() - started,
        )
        return outcome

    def _failed(self, row: Due, exc: Exception) -> Outcome:
        """What an error means for the row: wait, try again later, or give up."""
        attempts = row.attempts + 1
        if isinstance(exc, TelegramRetryAfter):
            self.pacer.hold(row.chat_id, exc.retry_after)
            wait = timedelta(seconds=exc.retry_after)  # being asked to wait is no failed attempt
            retry_at = self.clock() + wait
            return Outcome(
                row, OutboxStatus.pending, row.attempts, not_before=retry_at, flood=True, held=True
            )
        if isinstance(exc, TelegramUnauthorizedError):  # a revoked token: no message is at fault
            if not self.token_refused:
                log.error("Telegram refuses the bot token: messages wait for a valid one")
            self.token_refused = True
            retry_at = self.clock() + UNAUTHORIZED_WAIT
            return Outcome(
                row,
                OutboxStatus.pending,
                row.attempts,
                not_before=retry_at,
                error=_describe(exc),
                unauthorized=True,
            )
        if isinstance(exc, TelegramForbiddenError):
            return Outcome(row, OutboxStatus.failed, attempts, error=_describe(exc), blocked=True)
        if isinstance(exc, (*REFUSED, KeyError, pydantic.ValidationError)) or (
            attempts >= MAX_ATTEMPTS
        ):
            return Outcome(row, OutboxStatus.failed, attempts, error=_describe(exc))
        # Server, network, the unexpected: tried again later, and the chat's later messages wait
        # for it, so that none overtakes it.
        wait = backoff(attempts)
        self.pacer.hold_lane(row.chat_id, wait.total_seconds(), row.lane)
        return Outcome(
            row,
            OutboxStatus.pending,
            attempts,
            not_before=self.clock() + wait,
            error=_describe(exc),
            held=True,
        )

    async def _write(self, outcomes: list[Outcome], writer: AsyncConnection) -> None:
        """Outcomes back in one UPDATE: alone on `writer` (autocommit: one round trip), or, now
        and then, in a transaction with the rest: a chat Telegram told to wait has all its rows
        wait (in order, and for any sender that takes over), as do a chat's rows behind a call
        that will be tried again; clients who blocked the bot are
        marked unreachable and their coordinators told."""
        values = {
            "ids": [o.row.id for o in outcomes],
            "statuses": [o.status.value for o in outcomes],
            "attempts": [o.attempts for o in outcomes],
            "not_befores": [o.not_before for o in outcomes],
            "sent_ats": [o.sent_at for o in outcomes],
            "message_ids": [o.message_id for o in outcomes],
            "errors": [o.error for o in outcomes],
        }
        held: dict[int, tuple[datetime, int]] = {}  # chat -> until, from which lane
        for o in outcomes:
            if o.held and o.not_before is not None:
                lane = 0 if o.flood else o.row.lane  # Telegram's wait is for the whole chat
                until, from_lane = held.get(o.row.chat_id, (o.not_before, lane))
                held[o.row.chat_id] = (max(o.not_before, until), min(lane, from_lane))
        blocked = {o.row.client_id for o in outcomes if o.blocked and o.row.client_id}
        if not held and not blocked:
            await _write_back(writer, values)
        else:
            async with self.engine.begin() as conn:
                await _write_back(conn, values, nested=True)
                if held:
                    await conn.execute(
                        HOLD_CHATS,
                        {
                            "chats": list(held),
                            "untils": [until for until, _ in held.values()],
                            "from_lanes": [lane for _, lane in held.values()],
                        },
                    )
                if blocked:
                    async with self.sessions(bind=conn) as session:  # in this transaction
                        await self._mark_unreachable(session, blocked)
                        await session.flush()
        for o in outcomes:
            level = logging.DEBUG if o.status is OutboxStatus.sent else logging.INFO
            log.log(
                level,
                "outbox %s lane=%s method=%s status=%s attempts=%s",
                o.row.id,
                o.row.lane,
                o.row.method,
                o.status.value,
                o.attempts,
            )

    async def _mark_unreachable(self, session: AsyncSession, client_ids: set[int]) -> None:
        """Telegram answered 403: the client blocked the bot. The first time, tell their
        coordinator, as when the bot hears of the block itself."""
        clients = await session.scalars(
            sa.select(Client)
            .where(col(Client.id).in_(client_ids), col(Client.unreachable_since).is_(None))
            .with_for_update()
        )
        for client in clients:
            client.unreachable_since = self.clock()
            await record_audit(session, ActorKind.system, "client.blocked_bot", "client", client.id)
            await tell_coordinator(session, client, self.messaging, "blocked_note")


async def _write_back(
    conn: AsyncConnection, values: dict[str, Any], *, nested: bool = False
) -> None:
    """The outcomes, with the alert messages' `delivered` events, in one statement. Should the
    events fail (an alert id that is not one), the outcomes are written alone: a message marked
    sent matters more than its event."""
    try:
        if nested:
            async with conn.begin_nested():
                await conn.execute(WRITE_BACK_AND_DELIVERED, values)
        else:
            await conn.execute(WRITE_BACK_AND_DELIVERED, values)
    except (sa.exc.IntegrityError, sa.exc.DataError) as exc:
        log.warning("sender: delivered events not recorded (%s)", type(exc).__name__)
        await conn.execute(WRITE_BACK, values)


class _Shift:
    """A sender's turn as the active one, until asked to stop or the lock's connection is lost.

    A reader keeps rows ready, read on the lock's connection; `concurrency` workers take them,
    each going on to the next row as soon as its call is answered (as a bare loop of calls
    would); a writer writes the outcomes back. Paced, the workers book their slots one at a
    time, so an urgent row read meanwhile takes the next slot.
    """

    def __init__(self, sender: Sender, conn: AsyncConnection, stop: asyncio.Event) -> None:
        self.sender = sender
        self.conn = conn
        self.stop = stop
        self.raw: Any = None  # the asyncpg connection under `conn`
        self.lost = False
        self.sending = True
        self.queue: deque[Due] = deque()  # read, not yet taken by a worker
        self.busy: set[int] = set()  # read and not yet written back: never read twice
        self.outcomes: list[Outcome] = []
        self.urgent = NO_WAKE  # the most urgent lane NOTIFYed since the last read
        self.woken = asyncio.Event()  # a NOTIFY arrived
        self.fed = asyncio.Event()  # rows were queued
        self.wanted = asyncio.Event()  # the queue ran low
        self.progress = asyncio.Event()  # an outcome arrived, or the workers stopped
        self.gate = asyncio.Lock()  # held from booking a slot until it comes

    async def run(self) -> None:
        self.raw = (await self.conn.get_raw_connection()).driver_connection
        await self.raw.add_listener(WAKE_CHANNEL, self.on_notify)
        async with self.sender._autocommit() as writer, asyncio.TaskGroup() as group:
            group.create_task(self.keep_writing(writer))
            group.create_task(self.keep_reading())
            try:
                async with asyncio.TaskGroup() as workers:
                    for _ in range(self.sender.concurrency):
                        workers.create_task(self.work())
            finally:
                self.sending = False
                self.progress.set()
        if not self.stop.is_set():
            log.warning("sender: lock connection lost; stopped sending")

    @property
    def active(self) -> bool:
        """Whether this sender may still send: `is_closed` costs no round trip."""
        return not (self.stop.is_set() or self.lost or self.raw.is_closed())

    def on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        self.urgent = min(self.urgent, int(payload) if payload.isdigit() else 0)
        self.woken.set()

    def release(self, rows: Iterable[Due]) -> None:
        """Rows read but not sent: a later read may take them again."""
        self.busy.difference_update(row.id for row in rows)

    async def keep_reading(self) -> None:
        """Keep the queue topped up, most urgent first; when a more urgent row than some in
        the queue is NOTIFYed, drop the queue and read again."""
        sender = self.sender
        try:
            while self.active:
                if any(row.lane > self.urgent for row in self.queue):
                    self.release(self.queue)
                    self.queue.clear()
                if len(self.queue) > sender.read_ahead // 2:  # enough until the workers ask
                    self.wanted.clear()
                    self.woken.clear()
                    await nap(self.stop, IDLE_POLL_SECONDS, self.wanted, self.woken)
                    continue
                self.woken.clear()
                self.urgent = NO_WAKE
                limit = sender.read_ahead - len(self.queue)
                rows = await sender._read(self.conn, limit=limit, busy=self.busy)
                self.busy.update(row.id for row in rows)
                self.queue.extend(rows)
                self.fed.set()
                if len(rows) < limit:  # all that is due is queued: wait for a NOTIFY, a
                    # waiting chat's turn, or the next poll (rows become due by the clock)
                    ready = sender.pacer.next_ready() or IDLE_POLL_SECONDS
                    await nap(self.stop, min(IDLE_POLL_SECONDS, ready), self.woken)
        except Exception as exc:
            if connection_lost(exc) is None:
                raise
            log.warning("sender: lock connection failed")
            self.lost = True
        finally:
            self.fed.set()  # the workers waiting for rows find that there will be none

    async def work(self) -> None:
        while (row := await self.take()) is not None:
            outcome = await self.sender._attempt(row)
            self.outcomes.append(outcome)  # the list the writer has not taken yet
            self.progress.set()

    async def take(self) -> Due | None:
        """The next row, once its slot has come; None when this sender must stop sending."""
        while self.active:
            if not self.queue:
                self.fed.clear()
                await self.fed.wait()
                continue
            async with self.gate:
                if not self.queue:
                    continue
                row = self.queue.popleft()
                if len(self.queue) <= self.sender.read_ahead // 2:
                    self.wanted.set()
                delay = self.sender.pacer.book(row.chat_id, row.method, row.lane)
                if delay is None:  # its chat waits: a later read finds the row again
                    self.release([row])
                    continue
                if delay:
                    await nap(self.stop, delay)
                if self.active:
                    return row
                self.release([row])
        return None

    async def keep_writing(self, writer: AsyncConnection) -> None:
        """Write outcomes back while calls are made, on a connection of its own: one UPDATE for
        all that arrived within FLUSH_SECONDS, or at once for `concurrency` of them."""
        while self.sending or self.outcomes:
            if not self.outcomes:
                self.progress.clear()
                await self.progress.wait()
                continue
            if self.sending and len(self.outcomes) < self.sender.concurrency:
                await asyncio.sleep(FLUSH_SECONDS)
            outcomes, self.outcomes = self.outcomes, []
            await self.sender._write(outcomes, writer)
            self.release(o.row for o in outcomes)


def connection_lost(exc: BaseException) -> str | None:
    """The names of the errors ``exc`` holds when all of them say the database connection was
    lost (``is_transient``; a task group's included); None when it holds anything else."""
    if isinstance(exc, BaseExceptionGroup):
        names = [connection_lost(inner) for inner in exc.exceptions]
        return None if None in names else ", ".join(name for name in names if name)
    return type(exc).__name__ if is_transient(exc) else None


def _describe(exc: Exception) -> str:
    """Telegram's error, without the request or the values (either would carry message text)."""
    return f"{type(exc).__name__}: {getattr(exc, 'message', '')}"[:500]
