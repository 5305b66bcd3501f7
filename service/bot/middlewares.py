"""One unit of work per update: record it, let the handlers act, commit, and only then move on."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC
from typing import Any

import sqlalchemy as sa
from aiogram import BaseMiddleware, Bot
from aiogram.types import Message, TelegramObject, Update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.bot.routers.safety import plain_crisis_text
from service.bot.texts import language_of
from service.clients.models import Client
from service.conversations.models import InboundKind, InboundMessage
from service.conversations.storage import CURRENT_SESSION
from service.db import is_transient
from service.metrics import TALK_KINDS, count_inbound
from service.outbox.models import Lane
from service.outbox.service import enqueue
from service.signals.classifier import Classifier, Reading, default_classifier
from service.staff.models import StaffMember

log = logging.getLogger(__name__)

NOT_WORDS = frozenset({InboundKind.command, InboundKind.callback, InboundKind.membership})

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class UnitOfWork(BaseMiddleware):
    """Outer middleware on updates.

    The update is written to ``inbound_messages`` (unique on Telegram's ``update_id``) in the same
    transaction as everything the handlers do, and committed before the polling loop confirms the
    update to Telegram. A redelivered update finds its row and is skipped. Data passed on to
    handlers: ``session``, ``inbound``, ``client`` and ``staff`` (the sender's records, if any),
    and ``reading``: what the classifier read in the words, read once for every router.
    """

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], classifier: Classifier | None = None
    ) -> None:
        self.sessions = sessions
        self.classifier = classifier or default_classifier()

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        event = storable(event, data["bot"])
        urgent: dict[str, Any] | None = None
        async with self.sessions() as session:
            try:
                inbound = await record_inbound(session, event)
            except Exception as exc:
                if is_transient(exc):
                    raise  # the update stays unconfirmed and is tried again
                await session.rollback()
                return await self.unrecordable(event, data, exc)
            if inbound is None:
                log.info("update %s already handled", event.update_id)
                return None
            kind = inbound.kind  # for the count, even after a rollback expires the row
            bound = CURRENT_SESSION.set(session)  # conversation state joins this transaction
            try:
                data["session"] = session
                data["inbound"] = inbound
                data["client"], data["staff"] = await _senders_records(session, inbound)
                data["reading"] = self.read(inbound)
                urgent = _crisis_fallback(event, data)
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
                _count(kind, data["reading"])
                return result
            finally:
                CURRENT_SESSION.reset(bound)
        # A bug must not lose what the person wrote: keep the update on its own; and words of
        # danger still get the plain crisis answer.
        async with self.sessions() as session:
            await record_inbound(session, event)
            if urgent is not None:
                await enqueue(session, lane=Lane.crisis, **urgent)
            await session.commit()
        _count(kind, data.get("reading"))
        return None

    async def unrecordable(self, event: Update, data: dict[str, Any], exc: Exception) -> None:
        """An update whose row the database refuses for good (not a lost connection): a bare
        record of it is kept (its id, who and where, not the words), so that the bot goes on for
        everyone instead of stopping at it on every restart; words of danger in it still get
        the plain crisis answer."""
        log.error(
            "update %s could not be recorded (%s); keeping a bare record of it",
            event.update_id,
            type(exc).__name__,
        )
        async with self.sessions() as session:
            inbound = await record_inbound(session, event, bare=True)
            if inbound is None:
                return None
            _, message = describe_update(event)
            words = message.text or message.caption if message is not None else None
            if inbound.chat_id is not None and words and self.classifier.classify(words).critical:
                user = message.from_user if message is not None else None
                language = language_of(user.language_code if user else None)
                await enqueue(
                    session,
                    lane=Lane.crisis,
                    chat_id=inbound.chat_id,
                    text=plain_crisis_text(data["messaging"], None, language),
                    reason={"category": "crisis_response", "fallback": True},
                )
            await session.commit()
        count_inbound(InboundKind.other, [])
        return None

    def read(self, inbound: InboundMessage) -> Reading | None:
        """The words a person wrote (a text, an edit, a caption), in either language: a client
        set to one language may still write in the other."""
        if inbound.kind in NOT_WORDS or not inbound.text:
            return None
        return self.classifier.classify(inbound.text)


def storable(update: Update, bot: Bot) -> Update:
    """The update as PostgreSQL can keep it: its text may hold U+0000 (Telegram delivers it),
    which no text or JSON column accepts; every one becomes U+FFFD, the replacement character,
    everywhere in the update, so the handlers see the same words as the inbound row keeps.
    Without it the update could not be stored, and polling would stop at it for everyone."""
    raw = update.model_dump(mode="json", by_alias=True, exclude_none=True)
    if "\\u0000" not in json.dumps(raw):
        return update
    return Update.model_validate(_replace_nul(raw), context={"bot": bot})


def _replace_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, list):
        return [_replace_nul(item) for item in value]
    if isinstance(value, dict):
        return {key: _replace_nul(item) for key, item in value.items()}
    return value


def _count(kind: str, reading: Reading | None) -> None:
    """An update recorded for good (counted once, after its commit), and the kinds of signal
    its words carry: the classifier's findings and the talk type, as `record_reading` records
    them for a client."""
    kinds: list[str] = []
    if reading is not None:
        kinds = [finding.kind for finding in reading.signals]
        if reading.talk in TALK_KINDS:
            kinds.append(TALK_KINDS[reading.talk])
    count_inbound(kind, kinds)


def _crisis_fallback(event: Update, data: dict[str, Any]) -> dict[str, Any] | None:
    """The plain crisis answer to queue should the handlers fail on words of danger or /sos,
    made before they run (from plain values: nothing of the failed transaction is needed)."""
    inbound: InboundMessage = data["inbound"]
    reading: Reading | None = data["reading"]
    is_sos = inbound.kind == InboundKind.command and (inbound.text or "").startswith("/sos")
    if inbound.chat_id is None or not (is_sos or (reading is not None and reading.critical)):
        return None
    client: Client | None = data["client"]
    user = event.event.from_user if hasattr(event.event, "from_user") else None
    language = client.language if client else language_of(user.language_code if user else None)
    return {
        "chat_id": inbound.chat_id,
        "text": plain_crisis_text(data["messaging"], client, language),
        "client_id": client.id if client else None,
        "reason": {"category": "crisis_response", "fallback": True},
    }


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


async def record_inbound(
    session: AsyncSession, update: Update, *, bare: bool = False
) -> InboundMessage | None:
    """Insert the update's row, or return None if this update was recorded before. ``bare``:
    only that it came, from whom and where (kind ``other``, no text)."""
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
    if bare:
        kind, text = InboundKind.other, None
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
