"""One unit of work per update: record it, let the handlers act, commit, and only then move on."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC
from typing import Any

import sqlalchemy as sa
from aiogram import BaseMiddleware
from aiogram.types import Message, TelegramObject, Update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.clients.models import Client
from service.conversations.models import InboundKind, InboundMessage
from service.conversations.storage import CURRENT_SESSION
from service.staff.models import StaffMember

log = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class UnitOfWork(BaseMiddleware):
    """Outer middleware on updates.

    The update is written to ``inbound_messages`` (unique on Telegram's ``update_id``) in the same
    transaction as everything the handlers do, and committed before the polling loop confirms the
    update to Telegram. A redelivered update finds its row and is skipped. Data passed on to
    handlers: ``session``, ``inbound``, ``client`` and ``staff`` (the sender's records, if any).
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        async with self.sessions() as session:
            inbound = await record_inbound(session, event)
            if inbound is None:
                log.info("update %s already handled", event.update_id)
                return None
            data["session"] = session
            data["inbound"] = inbound
            data["client"], data["staff"] = await _senders_records(session, inbound)
            bound = CURRENT_SESSION.set(session)  # conversation state joins this transaction
            try:
                result = await handler(event, data)
            except Exception as exc:
                if is_transient(exc):
                    raise  # the update stays unconfirmed and is tried again
                log.exception(
                    "update %s failed in a handler; keeping it unanswered", event.update_id
                )
                await session.rollback()
            else:
                await session.commit()
                return result
            finally:
                CURRENT_SESSION.reset(bound)
        # A bug must not lose what the person wrote: keep the update on its own.
        async with self.sessions() as session:
            await record_inbound(session, event)
            await session.commit()
        return None


def is_transient(exc: BaseException) -> bool:
    """Errors that pass (the database restarting, a dropped connection): worth a retry."""
    if isinstance(exc, OperationalError | InterfaceError | OSError | TimeoutError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def describe_update(update: Update) -> tuple[InboundKind, Message | None]:
    """The kind of an update and its message, if it carries one."""
    if update.message is not None:
        message = update.message
        if message.text is not None:
            kind = InboundKind.command if message.text.startswith("/") else InboundKind.text
        elif message.sticker is not None:
            kind = InboundKind.sticker
        elif message.voice is not None or message.video_note is not None:
            kind = InboundKind.voice
        elif message.photo is not None:
            kind = InboundKind.photo
        else:
            kind = InboundKind.other
        return kind, message
    if update.edited_message is not None:
        return InboundKind.edited, update.edited_message
    if update.callback_query is not None:
        return InboundKind.callback, None
    if update.my_chat_member is not None:
        return InboundKind.membership, None
    return InboundKind.other, None


async def record_inbound(session: AsyncSession, update: Update) -> InboundMessage | None:
    """Insert the update's row, or return None if this update was recorded before."""
    kind, message = describe_update(update)
    user = update.event.from_user if hasattr(update.event, "from_user") else None
    chat_id: int | None = None
    text: str | None = None
    sent_at = None
    if message is not None:
        chat_id = message.chat.id
        text = message.text if message.text is not None else message.caption
        sent_at = message.date.astimezone(UTC)
    elif update.callback_query is not None:
        query = update.callback_query
        text = query.data
        if query.message is not None:
            chat_id = query.message.chat.id
    elif update.my_chat_member is not None:
        chat_id = update.my_chat_member.chat.id
        text = update.my_chat_member.new_chat_member.status
    return await session.scalar(
        insert(InboundMessage)
        .values(
            update_id=update.update_id,
            telegram_user_id=user.id if user is not None else None,
            chat_id=chat_id,
            kind=kind,
            text=text,
            sent_at=sent_at,
        )
        .on_conflict_do_nothing(index_elements=["update_id"])
        .returning(InboundMessage)
    )


async def _senders_records(
    session: AsyncSession, inbound: InboundMessage
) -> tuple[Client | None, StaffMember | None]:
    if inbound.telegram_user_id is None:
        return None, None
    client = await session.scalar(
        sa.select(Client).where(Client.telegram_user_id == inbound.telegram_user_id)  # type: ignore[arg-type]
    )
    staff = await session.scalar(
        sa.select(StaffMember).where(
            StaffMember.telegram_user_id == inbound.telegram_user_id  # type: ignore[arg-type]
        )
    )
    inbound.client_id = client.id if client is not None else None
    inbound.staff_member_id = staff.id if staff is not None else None
    return client, staff
