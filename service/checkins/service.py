"""Check-ins as conversations: ask, take the answer, answer back. Shared by /checkin and, with the
scheduling work, by the planner. Replies are linked to the check-in they answer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.bot.callbacks import Keyboard, ScaleAnswer, buttons, keyboard
from service.checkins.cadence import QUESTIONS
from service.checkins.models import Checkin, CheckinKind, CheckinStatus
from service.checkins.thresholds import SCALES, record_signals
from service.clients.models import Client
from service.columns import among
from service.content.library import Category
from service.content.service import Composed, Messaging, compose
from service.content.tailoring import Moment
from service.outbox.service import cancel_scheduled

OPEN_HOURS = 24  # a reply within this time answers the latest check-in
SCALE_MAX = 10
SCALE_CHOICES = [(str(value), value) for value in range(SCALE_MAX + 1)]


def scale_keyboard(checkin_id: int, scale: str) -> Keyboard:
    """0 to 10, in two rows."""
    answers = buttons(
        ScaleAnswer(checkin_id=checkin_id, scale=scale, value=SCALE_MAX), SCALE_CHOICES
    )
    return keyboard([answers[:6], answers[6:]])


def band(value: int) -> str:
    """low (0-3), middle (4-6) or high (7-10) of any scale; each follow-up template knows what
    its band means for its scale (high craving is hard, high confidence is good)."""
    return "low" if value <= 3 else "middle" if value <= 6 else "high"


def local_now(client: Client, now: datetime) -> datetime:
    return now.astimezone(ZoneInfo(client.timezone))


async def next_question(session: AsyncSession, client: Client) -> str:
    """For /checkin: open questions and the three scales in turn, so check-ins don't repeat
    their shape."""
    asked = await session.scalar(
        sa.select(sa.func.count()).where(col(Checkin.client_id) == client.id)
    )
    return QUESTIONS[(asked or 0) % len(QUESTIONS)]


async def open_checkin(
    session: AsyncSession,
    client: Client,
    messaging: Messaging,
    now: datetime,
    *,
    question: str,
    kind: CheckinKind = CheckinKind.on_request,
) -> tuple[Checkin, Composed] | None:
    """A check-in asking an open question, or a 0-10 rating (``question`` names the scale; the
    caller adds the buttons), ready to send."""
    assert client.id is not None
    today = local_now(client, now).date()
    moment = (
        Moment(Category.checkin_opener, today)
        if question == "open"
        else Moment(Category.scale_question, today, {"scale": question})
    )
    composed = await compose(
        session, client, moment, now, messaging.renderer, library=messaging.library
    )
    if composed is None:
        return None
    checkin = Checkin(
        client_id=client.id,
        kind=kind,
        status=CheckinStatus.sent,
        local_date=today,
        scheduled_for=now,
        sent_at=now,
        template_version_id=composed.template_version_id,
    )
    session.add(checkin)
    await session.flush()
    return checkin, composed


async def stop_schedule(session: AsyncSession, client: Client) -> None:
    """Nothing more on the schedule (the client stopped or paused): no next touch, and what is
    queued but not sent is cancelled, with the check-ins it would have opened."""
    assert client.id is not None
    client.next_checkin_at = None
    opened = await cancel_scheduled(session, client.id)
    if opened:
        await session.execute(
            sa.update(Checkin)
            .where(among(col(Checkin.id), opened), col(Checkin.status) == CheckinStatus.sent)
            .values(status=CheckinStatus.cancelled)
        )


def mark_answered(client: Client, checkin: Checkin, now: datetime) -> None:
    """The client answered ``checkin``: it counts toward a steady run and ends a run of misses.
    Only the first answer to a check-in counts."""
    if checkin.status == CheckinStatus.answered:
        return
    checkin.status = CheckinStatus.answered
    checkin.answered_at = now
    client.answered_in_row += 1
    client.missed_in_row = 0


async def record_scale(
    session: AsyncSession,
    client: Client,
    checkin: Checkin,
    messaging: Messaging,
    now: datetime,
    *,
    scale: str,
    value: int,
) -> Composed | None:
    """Keep a rating (past a threshold, a signal and an alert) and compose the follow-up that
    fits it."""
    checkin.answers = {**checkin.answers, scale: value}
    mark_answered(client, checkin, now)
    await record_signals(
        session,
        client,
        checkin,
        messaging,
        now,
        thresholds=SCALES,
        source="scale",
        question=scale,
        value=value,
    )
    moment = Moment(
        Category.scale_followup,
        local_now(client, now).date(),
        {"scale": scale, "band": band(value)},
    )
    return await compose(
        session, client, moment, now, messaging.renderer, library=messaging.library
    )


async def latest_open(session: AsyncSession, client: Client, now: datetime) -> Checkin | None:
    return await session.scalar(
        sa.select(Checkin)
        .where(
            col(Checkin.client_id) == client.id,
            col(Checkin.sent_at) >= now - timedelta(hours=OPEN_HOURS),
        )
        .order_by(col(Checkin.sent_at).desc())
        .limit(1)
    )


@dataclass(frozen=True)
class Answer:
    composed: Composed
    checkin: Checkin | None


# What a client's words get besides the usual answer: a relapse is met as information, not
# failure; a strong craving with an open question about what is around them.
CARE_REPLIES: Final[dict[str, tuple[Category, dict[str, str]]]] = {
    "relapse": (Category.relapse_response, {}),
    "craving": (Category.scale_followup, {"scale": "craving", "band": "high"}),
}


async def answer_words(
    session: AsyncSession,
    client: Client,
    messaging: Messaging,
    now: datetime,
    *,
    replies: int,
    care: str | None = None,
    talk: str = "neutral",
) -> Answer | None:
    """Answer what a client wrote, linked to the check-in it replies to, if any: for a risk
    in ``CARE_REPLIES`` its reply; otherwise an affirmation or a reflection of what matters to
    them, alternating, tailored to their values. Sustain talk gets the reflection, which rolls
    with it and leaves the client's own reasons beside it."""
    checkin = await latest_open(session, client, now)
    if checkin is not None and checkin.status in {CheckinStatus.sent, CheckinStatus.missed}:
        mark_answered(client, checkin, now)
    if care is not None:
        category, extras = CARE_REPLIES[care]
    else:
        reflect = client.values and (replies % 2 or talk == "sustain")
        category, extras = (Category.values_reflection if reflect else Category.affirmation), {}
    moment = Moment(category, local_now(client, now).date(), extras)
    composed = await compose(
        session, client, moment, now, messaging.renderer, library=messaging.library
    )
    return Answer(composed, checkin) if composed is not None else None
