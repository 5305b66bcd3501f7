"""The planner: the worker's ticks that make scheduled touches happen on time, exactly once.

Each tick claims rows in batches with ``FOR UPDATE SKIP LOCKED``, so any number of workers share
the load and no two plan the same client. A batch is one transaction: the check-in, its outbox
row and the client's advanced ``next_checkin_at`` commit together, so a worker killed at any
moment loses nothing and plans nothing twice (a unique index on the client's local date backs
this up). Composition reads the batch's situations in a few queries, not a few per client.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from service.audit.models import ActorKind
from service.audit.service import record_audit
from service.bot.callbacks import Keyboard
from service.checkins import weekly
from service.checkins.cadence import (
    DEFAULT,
    Cadence,
    Person,
    Recent,
    Touch,
    adapt,
    is_allowed_now,
    local_date,
    moment_for,
    next_touch,
    question_on,
    touch_on,
)
from service.checkins.models import CadenceChange, Checkin, CheckinKind, CheckinStatus
from service.checkins.service import scale_keyboard
from service.clients.models import (
    CadenceMode,
    Client,
    ClientRecord,
    ClientState,
    Program,
    StageOfChange,
)
from service.columns import ArrayRows, among, utcnow
from service.content.library import Category
from service.content.service import Composed, Messaging, Situation, compose_for, situations
from service.content.tailoring import Moment
from service.outbox.models import OUTBOX, Lane, OutboxMessage, OutboxStatus
from service.outbox.service import WAKE_CHANNEL
from service.signals.models import Severity, Signal, SignalKind
from service.signals.service import record_signal

log = logging.getLogger(__name__)

BATCH = 500
LANES = 2  # batches planned at once by one worker
RECHECK = timedelta(days=1)  # no touch in sight (a discharge years away): look again tomorrow
RISKS = (SignalKind.relapse, SignalKind.craving)  # what makes the cadence intensive
RISK_DAYS = 7  # how recent a risk must be to change the cadence
AWAITING_REPLY = (CheckinKind.open_question, CheckinKind.scale, CheckinKind.weekly)
CLIENTS: sa.Table = Client.__table__  # type: ignore[attr-defined]
CHECKINS: sa.Table = Checkin.__table__  # type: ignore[attr-defined]
# A batch's check-ins, outbox rows and clients' changes are written with one statement each, from
# arrays: a statement per row would cost the database several times as much.
PLANNED_TYPES: dict[str, sa.types.TypeEngine[Any]] = {
    "id": sa.Integer(),
    "next_checkin_at": sa.DateTime(timezone=True),
    "last_touch_on": sa.Date(),
    "touches": sa.Integer(),
    "cadence_mode": sa.String(),
    "cadence_mode_until": sa.Date(),
    "answered_in_row": sa.Integer(),
}
_planned = ArrayRows("planned", PLANNED_TYPES)
PLANNED = (
    sa.update(CLIENTS)
    .where(CLIENTS.c.id == _planned.table.c.id)
    .values(
        **{name: _planned.table.c[name] for name in PLANNED_TYPES if name != "id"},
        updated_at=sa.bindparam("now"),
    )
)
CHECKIN_TYPES: dict[str, sa.types.TypeEngine[Any]] = {
    "client_id": sa.Integer(),
    "kind": sa.String(),
    "status": sa.String(),
    "local_date": sa.Date(),
    "scheduled_for": sa.DateTime(timezone=True),
    "sent_at": sa.DateTime(timezone=True),
    "template_version_id": sa.Integer(),
}
_checkins = ArrayRows("new_checkin", CHECKIN_TYPES)
NEW_CHECKINS = (
    sa.insert(CHECKINS)
    .from_select(list(CHECKIN_TYPES), sa.select(*_checkins.table.c))
    .returning(CHECKINS.c.client_id, CHECKINS.c.id)
)
OUTBOX_TYPES: dict[str, sa.types.TypeEngine[Any]] = {
    "lane": sa.SmallInteger(),
    "status": sa.String(),
    "chat_id": sa.BigInteger(),
    "method": sa.String(),
    "payload": JSONB(),
    "client_id": sa.Integer(),
    "checkin_id": sa.Integer(),
    "template_version_id": sa.Integer(),
    "reason": JSONB(),
    "dedupe_key": sa.String(),
    "attempts": sa.Integer(),
    "not_before": sa.DateTime(timezone=True),
}
_outbox = ArrayRows("new_message", OUTBOX_TYPES)
NEW_MESSAGES = sa.insert(OUTBOX).from_select(list(OUTBOX_TYPES), sa.select(*_outbox.table.c))
KINDS = {
    Touch.weekly: CheckinKind.weekly,
    Touch.affirmation: CheckinKind.affirmation,
    Touch.self_efficacy: CheckinKind.self_efficacy,
    Touch.values_reflection: CheckinKind.values_reflection,
    Touch.change_talk: CheckinKind.change_talk,
    Touch.milestone: CheckinKind.milestone,
}


@dataclass(slots=True)
class DueClient:
    """A claimed client as plain data: read in bulk, changed in memory, written back with one
    statement per batch (an ORM object costs more to load and flush than planning it does)."""

    id: int
    first_name: str
    language: str
    timezone: str
    values: list[str]
    reasons: dict[str, str]
    stage_of_change: StageOfChange | None
    discharge_date: date | None
    sobriety_date: date | None
    coordinator_id: int | None
    created_at: datetime
    checkin_window_start: time
    checkin_window_end: time
    program_id: int | None
    cadence_override: dict[str, Any] | None
    cadence_mode: CadenceMode
    cadence_mode_until: date | None
    last_touch_on: date | None
    telegram_chat_id: int | None
    next_checkin_at: datetime | None
    touches: int
    missed_in_row: int
    answered_in_row: int


DUE_COLUMNS = [CLIENTS.c[name] for name in DueClient.__slots__]


def person_of(client: ClientRecord) -> Person:
    assert client.id is not None
    return Person(
        key=client.id,
        timezone=client.timezone,
        window=(client.checkin_window_start, client.checkin_window_end),
        discharge_date=client.discharge_date or client.created_at.date(),
        sobriety_date=client.sobriety_date,
        mode=client.cadence_mode,
    )


def first_touch(cadence: Cadence, client: ClientRecord, now: datetime) -> datetime | None:
    """When a client who just enrolled or came back hears from us first: not today, which
    already had the welcome or the goodbye."""
    today = local_date(now, client.timezone)
    last = max(client.last_touch_on or today, today)
    return next_touch(cadence, person_of(client), after=now, last_touch_on=last)


class Cadences:
    """Programs' cadences, read once per tick and parsed once per program; a client's override
    is merged over theirs."""

    def __init__(self) -> None:
        self.programs: dict[int, dict[str, Any]] = {}
        self._parsed: dict[int, Cadence] = {}

    async def load(self, session: AsyncSession) -> None:
        rows = await session.execute(sa.select(col(Program.id), col(Program.cadence)))
        self.programs = {program_id: cadence for program_id, cadence in rows}
        self._parsed = {}

    def of(self, client: ClientRecord) -> Cadence:
        """The client's cadence. A stored override or program that no longer validates (saved
        under older rules) gives way to the program's, then the default, rather than stop a tick."""
        program_id = client.program_id or 0
        if not client.cadence_override and program_id in self._parsed:
            return self._parsed[program_id]
        data = self.programs.get(program_id, DEFAULT.data())
        for override in (client.cadence_override, None):
            try:
                cadence = Cadence.parse(data, override)
            except ValueError:
                log.warning("client %s: a stored cadence does not validate", client.id)
                continue
            if not override:
                self._parsed[program_id] = cadence
            return cadence
        return DEFAULT


@dataclass(frozen=True)
class Touching:
    """One planned touch in a batch: its check-in row to insert, and the message composed."""

    client: DueClient
    touch: Touch
    checkin: dict[str, Any]  # the row to insert
    composed: Composed | None  # None for the weekly check-in: its questions are the bot's
    question: str  # "open" or a scale, for check-ins


class Planner:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        messaging: Messaging,
        *,
        clock: Callable[[], datetime] = utcnow,
        batch: int = BATCH,
    ) -> None:
        self.sessions = sessions
        self.messaging = messaging
        self.clock = clock
        self.batch = batch

    async def plan(self) -> int:
        """One tick: every due client, batch after batch. Returns the touches queued.

        Two batches run at a time on two connections, so that composing one overlaps the
        database writing the other."""
        queued = [0] * LANES

        async def lane(index: int) -> None:
            while True:
                claimed, touched = await self.plan_batch()
                queued[index] += touched
                if claimed < self.batch:
                    return

        async with asyncio.TaskGroup() as group:
            for index in range(LANES):
                group.create_task(lane(index))
        return sum(queued)

    async def plan_batch(self) -> tuple[int, int]:
        """Plan one batch of due clients in one transaction: (clients claimed, touches queued)."""
        now = self.clock()
        async with self.sessions() as session, session.begin():
            rows = await session.execute(
                sa.select(*DUE_COLUMNS)
                .where(
                    CLIENTS.c.state == ClientState.active,
                    sa.or_(CLIENTS.c.next_checkin_at <= now, CLIENTS.c.next_checkin_at.is_(None)),
                )
                .order_by(CLIENTS.c.next_checkin_at.asc().nulls_first())
                .limit(self.batch)
                .with_for_update(skip_locked=True)
            )
            clients = [DueClient(*row) for row in rows]
            if not clients:
                return 0, 0
            cadences = Cadences()
            await cadences.load(session)
            await self.messaging.library.refresh(session)
            risks = await _new_risks(session, [client.id for client in clients], now)
            seen = await situations(session, clients, now)
            touching: list[Touching] = []
            for client in clients:
                try:
                    planned = self._plan_client(
                        session,
                        client,
                        cadences.of(client),
                        now,
                        risk=risks.get(client.id),
                        seen=seen[client.id],
                    )
                except Exception:  # one client's bad data must not hold up everyone's batch
                    log.exception("client %s could not be planned; trying again later", client.id)
                    client.next_checkin_at = now + RECHECK
                    continue
                if planned is not None:
                    touching.append(planned)
            await self._write(session, clients, touching, now)
        log.info("planned %s touches for %s due clients", len(touching), len(clients))
        return len(clients), len(touching)

    async def _write(
        self,
        session: AsyncSession,
        clients: Sequence[DueClient],
        touching: Sequence[Touching],
        now: datetime,
    ) -> None:
        if touching:
            rows = await session.execute(
                NEW_CHECKINS, _checkins.parameters([planned.checkin for planned in touching])
            )
            ids: dict[int, int] = dict(list(rows))  # by client: one touch each in a batch
            outgoing = [
                self._outgoing(planned, ids[planned.client.id], now) for planned in touching
            ]
            await session.execute(NEW_MESSAGES, _outbox.parameters(outgoing))
            await session.execute(
                sa.select(sa.func.pg_notify(WAKE_CHANNEL, str(int(Lane.scheduled))))
            )
        changed = [{name: getattr(client, name) for name in PLANNED_TYPES} for client in clients]
        await session.execute(PLANNED, {**_planned.parameters(changed), "now": now})

    def _plan_client(
        self,
        session: AsyncSession,
        client: DueClient,
        cadence: Cadence,
        now: datetime,
        *,
        risk: str | None,
        seen: Situation,
    ) -> Touching | None:
        assert client.id is not None
        if client.next_checkin_at is None:  # enrolled or back from a pause
            client.next_checkin_at = first_touch(cadence, client, now) or (now + RECHECK)
            return None
        person = person_of(client)
        today = local_date(now, client.timezone)
        change = adapt(
            cadence,
            client.cadence_mode,
            client.cadence_mode_until,
            Recent(
                today,
                (today - person.discharge_date).days,
                risk,
                client.missed_in_row,
                client.answered_in_row,
            ),
        )
        if change is not None:
            session.add(
                CadenceChange(
                    client_id=client.id,
                    mode_from=client.cadence_mode,
                    mode_to=change.mode,
                    until=change.until,
                    reason=change.reason,
                )
            )
            if change.mode == CadenceMode.intensive:
                client.answered_in_row = 0  # a steady run starts again after the spell
            client.cadence_mode, client.cadence_mode_until = change.mode, change.until
            person = replace(person, mode=change.mode)
        on = local_date(client.next_checkin_at, client.timezone)
        # A touch planned for an earlier day (the workers were down) or now in quiet hours is
        # not sent late: the next one is planned instead.
        touch = (
            touch_on(cadence, person, on, client.touches)
            if on == today != client.last_touch_on and is_allowed_now(cadence, person, now)
            else None
        )
        planned = self._compose(client, touch, on, now=now, seen=seen) if touch else None
        if planned is not None:
            client.last_touch_on = on
            client.touches += planned.touch != Touch.milestone
        client.next_checkin_at = next_touch(
            cadence, person, after=now, last_touch_on=client.last_touch_on
        ) or (now + RECHECK)
        return planned

    def _compose(
        self,
        client: DueClient,
        touch: Touch,
        on: date,
        *,
        now: datetime,
        seen: Situation,
    ) -> Touching | None:
        question = question_on(client.id, on)
        composed = None
        if touch != Touch.weekly:
            moment = moment_for(touch, on, client.sobriety_date, question)
            assert moment is not None
            composed = self._render(seen, moment)
            if composed is None and touch != Touch.checkin:  # nothing fits: ask how they are
                touch, question = Touch.checkin, "open"
                composed = self._render(seen, Moment(Category.checkin_opener, on))
            if composed is None:
                log.warning("client %s: the library has nothing to send on %s", client.id, on)
                return None
        kind = KINDS.get(touch) or (
            CheckinKind.open_question if question == "open" else CheckinKind.scale
        )
        checkin = {
            "client_id": client.id,
            "kind": kind,
            "status": CheckinStatus.sent,
            "local_date": on,
            "scheduled_for": client.next_checkin_at or now,
            "sent_at": now,
            "template_version_id": composed.template_version_id if composed else None,
        }
        return Touching(client, touch, checkin, composed, question)

    def _render(self, seen: Situation, moment: Moment) -> Composed | None:
        return compose_for(seen, moment, self.messaging.library, self.messaging.renderer)

    @staticmethod
    def _outgoing(planned: Touching, checkin_id: int, now: datetime) -> dict[str, Any]:
        client, checkin = planned.client, planned.checkin
        assert client.telegram_chat_id is not None
        keyboard: Keyboard | None = None
        reason: dict[str, Any] = {"touch": planned.touch.value, "mode": client.cadence_mode}
        if planned.composed is None:
            text, keyboard = weekly.question_message(client.language, checkin_id, 0)
            reason["on"] = checkin["local_date"].isoformat()
        else:
            text = planned.composed.text
            reason |= planned.composed.reason
            if checkin["kind"] == CheckinKind.scale:
                keyboard = scale_keyboard(checkin_id, planned.question)
        payload: dict[str, Any] = {"text": text, "parse_mode": "HTML"}
        if keyboard is not None:
            payload["reply_markup"] = keyboard
        return {
            "lane": int(Lane.scheduled),
            "status": OutboxStatus.pending,
            "chat_id": client.telegram_chat_id,
            "method": "sendMessage",
            "payload": payload,
            "client_id": client.id,
            "checkin_id": checkin_id,
            "template_version_id": checkin["template_version_id"],
            "reason": reason,
            "dedupe_key": f"touch:{client.id}:{checkin['local_date'].isoformat()}",
            "attempts": 0,
            "not_before": now,
        }

    async def follow_up(self) -> int:
        """Unanswered check-ins: one gentle follow-up once the program's time has passed (never
        in quiet hours), and after the reply window a miss; a run of misses is a signal.
        Returns the check-ins looked at; batches walk on by (sent_at, id)."""
        now = self.clock()
        cadences = Cadences()
        after: tuple[datetime, int] | None = None
        looked = 0
        while True:
            async with self.sessions() as session, session.begin():
                await cadences.load(session)
                rows = await self._awaiting(session, cadences, now, after)
                await self._follow_up_batch(session, cadences, rows, now)
            looked += len(rows)
            if len(rows) < self.batch:
                return looked
            last = rows[-1][0]
            assert last.sent_at is not None and last.id is not None
            after = (last.sent_at, last.id)

    async def _awaiting(
        self,
        session: AsyncSession,
        cadences: Cadences,
        now: datetime,
        after: tuple[datetime, int] | None,
    ) -> list[tuple[Checkin, Client]]:
        soonest = min(
            [DEFAULT.follow_up_after_hours]
            + [Cadence.parse(data).follow_up_after_hours for data in cadences.programs.values()]
        )
        query = (
            sa.select(Checkin, Client)
            .join(Client, col(Client.id) == col(Checkin.client_id))
            .where(
                col(Checkin.status) == CheckinStatus.sent,
                col(Checkin.kind).in_(AWAITING_REPLY),
                col(Checkin.sent_at) <= now - timedelta(hours=soonest),
                col(Client.state) == ClientState.active,
            )
            .order_by(col(Checkin.sent_at), col(Checkin.id))
            .limit(self.batch)
            .with_for_update(skip_locked=True)
        )
        if after is not None:
            query = query.where(sa.tuple_(col(Checkin.sent_at), col(Checkin.id)) > after)
        return [(checkin, client) for checkin, client in (await session.execute(query)).all()]

    async def _follow_up_batch(
        self,
        session: AsyncSession,
        cadences: Cadences,
        rows: Sequence[tuple[Checkin, Client]],
        now: datetime,
    ) -> None:
        due: list[tuple[Checkin, Client]] = []
        for checkin, client in rows:
            cadence = cadences.of(client)
            assert checkin.sent_at is not None
            waited = now - checkin.sent_at
            if waited >= timedelta(hours=cadence.reply_window_hours):
                await self._missed(session, checkin, client, cadence, now)
            elif (
                checkin.follow_up_at is None
                and waited >= timedelta(hours=cadence.follow_up_after_hours)
                and is_allowed_now(cadence, person_of(client), now)
            ):
                due.append((checkin, client))
        await self._send_follow_ups(session, due, now)

    async def _send_follow_ups(
        self, session: AsyncSession, due: Sequence[tuple[Checkin, Client]], now: datetime
    ) -> None:
        if not due:
            return
        await self.messaging.library.refresh(session)
        seen = await situations(session, [client for _, client in due], now)
        for checkin, client in due:
            assert client.id is not None and client.telegram_chat_id is not None
            checkin.follow_up_at = now
            moment = Moment(Category.reengagement, local_date(now, client.timezone))
            composed = self._render(seen[client.id], moment)
            if composed is None:
                continue
            session.add(
                OutboxMessage(
                    chat_id=client.telegram_chat_id,
                    lane=int(Lane.scheduled),
                    payload={"text": composed.text, "parse_mode": "HTML"},
                    client_id=client.id,
                    checkin_id=checkin.id,
                    template_version_id=composed.template_version_id,
                    reason={"touch": "follow_up", **composed.reason},
                    dedupe_key=f"follow-up:{checkin.id}",
                    not_before=now,
                )
            )
        await session.execute(sa.select(sa.func.pg_notify(WAKE_CHANNEL, str(int(Lane.scheduled)))))

    async def _missed(
        self,
        session: AsyncSession,
        checkin: Checkin,
        client: Client,
        cadence: Cadence,
        now: datetime,
    ) -> None:
        checkin.status = CheckinStatus.missed
        client.missed_in_row += 1
        client.answered_in_row = 0
        if client.missed_in_row != cadence.missed_for_signal:
            return
        await record_signal(
            session,
            client,
            self.messaging,
            now,
            kind=SignalKind.silence,
            severity=Severity.medium,
            evidence={
                "missed_in_row": client.missed_in_row,
                "threshold": cadence.missed_for_signal,
            },
            checkin_id=checkin.id,
        )

    async def resume(self) -> int:
        """Pauses that have run their course: the client is active again and planned afresh."""
        now = self.clock()
        async with self.sessions() as session, session.begin():
            resumed = list(
                await session.scalars(
                    sa.update(Client)
                    .where(col(Client.state) == ClientState.paused, col(Client.paused_until) <= now)
                    .values(
                        state=ClientState.active,
                        paused_until=None,
                        next_checkin_at=None,
                        updated_at=now,
                    )
                    .returning(col(Client.id))
                )
            )
            for client_id in resumed:
                await record_audit(
                    session,
                    ActorKind.system,
                    "client.resumed",
                    "client",
                    client_id,
                    detail={"why": "pause ended"},
                )
        return len(resumed)


async def _new_risks(
    session: AsyncSession, client_ids: Sequence[int], now: datetime
) -> dict[int, str]:
    """Each client's latest relapse or craving signal of the last days, if their cadence has not
    changed since."""
    last_change = (
        sa.select(sa.func.max(col(CadenceChange.created_at)))
        .where(col(CadenceChange.client_id) == col(Signal.client_id))
        .scalar_subquery()
    )
    rows = await session.execute(
        sa.select(col(Signal.client_id), col(Signal.kind))
        .where(
            among(col(Signal.client_id), client_ids),
            col(Signal.kind).in_(RISKS),
            col(Signal.created_at) >= now - timedelta(days=RISK_DAYS),
            sa.or_(last_change.is_(None), col(Signal.created_at) > last_change),
        )
        .order_by(col(Signal.client_id), col(Signal.created_at))
    )
    return {client_id: str(kind) for client_id, kind in rows}
