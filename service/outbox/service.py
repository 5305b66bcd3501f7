"""Queueing messages in the caller's transaction. Only the sender talks to Telegram."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.outbox.models import Lane, OutboxMessage, OutboxStatus

WAKE_CHANNEL = "aftercare_outbox"


async def enqueue(
    session: AsyncSession,
    *,
    chat_id: int,
    text: str,
    lane: Lane,
    reply_markup: dict[str, Any] | None = None,
    client_id: int | None = None,
    staff_member_id: int | None = None,
    reason: dict[str, Any] | None = None,
    template_version_id: int | None = None,
    dedupe_key: str | None = None,
) -> OutboxMessage:
    """Queue a text message; the sender is woken when the transaction commits."""
    payload: dict[str, Any] = {"text": text, "parse_mode": "HTML"}
    if reply_markup is not None:
        payload["reply_markup"] = reply_markup
    message = OutboxMessage(
        chat_id=chat_id,
        lane=int(lane),
        payload=payload,
        client_id=client_id,
        staff_member_id=staff_member_id,
        reason=reason or {},
        template_version_id=template_version_id,
        dedupe_key=dedupe_key,
    )
    session.add(message)
    await session.flush()
    await _wake_sender(session, lane)
    return message


async def enqueue_call(
    session: AsyncSession,
    *,
    chat_id: int,
    method: str,
    payload: dict[str, Any],
    lane: Lane = Lane.reply,
    client_id: int | None = None,
) -> OutboxMessage:
    """Queue another Bot API call (answerCallbackQuery, editMessageReplyMarkup, ...)."""
    message = OutboxMessage(
        chat_id=chat_id, method=method, lane=int(lane), payload=payload, client_id=client_id
    )
    session.add(message)
    await session.flush()
    await _wake_sender(session, lane)
    return message


async def cancel_scheduled(session: AsyncSession, client_id: int) -> list[int]:
    """A client who stops or pauses hears nothing more on the schedule: their scheduled messages
    not yet sent are cancelled (replies, alerts and the safety net are not). Returns the ids of
    the check-ins those messages opened."""
    opened = await session.scalars(
        sa.update(OutboxMessage)
        .where(
            col(OutboxMessage.client_id) == client_id,
            col(OutboxMessage.status) == OutboxStatus.pending,
            col(OutboxMessage.lane) == int(Lane.scheduled),
        )
        .values(status=OutboxStatus.cancelled)
        .returning(col(OutboxMessage.checkin_id))
    )
    return [checkin_id for checkin_id in opened if checkin_id is not None]


async def _wake_sender(session: AsyncSession, lane: Lane) -> None:
    await session.execute(sa.select(sa.func.pg_notify(WAKE_CHANNEL, str(int(lane)))))
