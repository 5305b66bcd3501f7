"""The safety net, first of all routers, whatever the conversation state, pause or opt-out.

Words that may mean danger now (self-harm, an overdose) and /sos get the crisis response on the
most urgent lane, enrolled or not, and a client's care team an alert. A client who reports using,
asks for a person or writes of a strong craving is answered in the spirit of MI (a relapse is
information, not failure) and their care team is told too.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from datetime import datetime

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from service.bot.replies import reply
from service.bot.routers.checkins import answer, is_answerable
from service.bot.texts import language_of, text
from service.checkins.service import CARE_REPLIES
from service.clients.models import Client
from service.columns import utcnow
from service.content.compose import ClientFacts
from service.content.crisis_lines import CrisisLines
from service.content.library import Category
from service.content.service import Messaging, compose_plain
from service.content.tailoring import Moment
from service.conversations.models import InboundMessage
from service.db import is_transient
from service.outbox.models import Lane
from service.signals.classifier import Reading
from service.signals.models import Severity, SignalKind
from service.signals.service import record_reading, record_signal

log = logging.getLogger(__name__)


def build_router() -> Router:
    router = Router(name="safety")
    router.message.filter(F.chat.type == "private")
    router.edited_message.filter(F.chat.type == "private")
    router.message.register(sos, Command("sos"))
    for observer in (router.message, router.edited_message):
        observer.register(crisis_words, is_critical)
        observer.register(risk_words, needs_care)
    return router


def is_critical(message: Message, reading: Reading | None) -> bool:
    del message
    return reading is not None and reading.critical


def needs_care(message: Message, reading: Reading | None, client: Client | None) -> bool:
    """Asking for a person, from anyone; a consented client's report of use or strong craving."""
    del message
    kinds = {finding.kind for finding in reading.signals} if reading else set()
    return SignalKind.help_request in kinds or (
        is_answerable(client) and not kinds.isdisjoint(CARE_REPLIES)
    )


async def crisis_words(
    message: Message,
    *,
    session: AsyncSession,
    inbound: InboundMessage,
    client: Client | None,
    messaging: Messaging,
    reading: Reading,
) -> None:
    kinds = {finding.kind for finding in reading.signals}
    kind = SignalKind.overdose if SignalKind.overdose in kinds else SignalKind.self_harm
    now = utcnow()
    await respond_to_crisis(session, message, client, messaging, kind=kind, now=now)
    await _keep_reading(session, client, inbound, reading, now=now, messaging=messaging)


async def risk_words(
    message: Message,
    *,
    session: AsyncSession,
    inbound: InboundMessage,
    client: Client | None,
    messaging: Messaging,
    reading: Reading,
) -> None:
    """An answer to the most pressing finding, then the signals and alerts for all of them."""
    now = utcnow()
    kinds = {finding.kind for finding in reading.signals}
    if SignalKind.help_request in kinds:
        kind = SignalKind.help_request
        await respond_to_crisis(session, message, client, messaging, kind=kind, now=now)
    else:
        assert client is not None  # needs_care answers only clients' other risks
        care = next(kind for kind in CARE_REPLIES if kind in kinds)
        await answer(session, client, messaging, inbound, now, care=care)
    await _keep_reading(session, client, inbound, reading, now=now, messaging=messaging)


async def sos(
    message: Message,
    *,
    session: AsyncSession,
    inbound: InboundMessage,
    client: Client | None,
    messaging: Messaging,
) -> None:
    now = utcnow()
    await respond_to_crisis(session, message, client, messaging, kind=SignalKind.sos, now=now)
    if client is not None:
        signal = record_signal(
            session,
            client,
            messaging,
            now,
            kind=SignalKind.sos,
            severity=Severity.critical,
            evidence={"command": "/sos"},
            inbound_message_id=inbound.id,
        )
        await _keep(session, client, signal)


async def respond_to_crisis(
    session: AsyncSession,
    message: Message,
    client: Client | None,
    messaging: Messaging,
    *,
    kind: SignalKind,
    now: datetime,
) -> None:
    """Crisis resources at once on the most urgent lane, from the library (or, should it have
    nothing that fits, the bot's own plain text)."""
    assert message.from_user is not None
    language = client.language if client else language_of(message.from_user.language_code)
    first_name = client.first_name if client else message.from_user.first_name
    composed = await compose_plain(
        session,
        messaging,
        Moment(Category.crisis_response, now.date(), {"alert": kind.value}),
        ClientFacts(
            first_name,
            language,
            crisis=crisis_lines_for(messaging, client),
            care_team=client is not None,
        ),
        client.id if client and client.id else message.from_user.id,
    )
    await reply(
        session,
        message.chat.id,
        composed.text if composed else plain_crisis_text(messaging, client, language),
        to=client,
        lane=Lane.crisis,
        reason=composed.reason if composed else {"category": "crisis_response"},
        template_version_id=composed.template_version_id if composed else None,
    )


def crisis_lines_for(messaging: Messaging, client: Client | None) -> CrisisLines:
    """Only a client has a program whose on-call line to call."""
    return messaging.crisis_lines if client else messaging.crisis_lines.without_oncall()


def plain_crisis_text(messaging: Messaging, client: Client | None, language: str) -> str:
    """The crisis answer that needs nothing but the settings: for when the library has none,
    and for when handling a message failed."""
    lines = crisis_lines_for(messaging, client).for_language(language)
    return text(language, "sos_unknown", **lines)


async def _keep_reading(
    session: AsyncSession,
    client: Client | None,
    inbound: InboundMessage,
    reading: Reading,
    *,
    now: datetime,
    messaging: Messaging,
) -> None:
    """A client's signals and alerts for what they wrote (someone outside the program has no
    record to keep them in)."""
    if client is not None:
        reading_kept = record_reading(
            session, client, inbound, reading, now=now, messaging=messaging
        )
        await _keep(session, client, reading_kept)


async def _keep(session: AsyncSession, client: Client, signals: Awaitable[object]) -> None:
    """Keep a crisis message's signals and alert in a savepoint: should that fail, the crisis
    answer already queued still goes out (a database that is down fails the whole update,
    which is then tried again)."""
    try:
        async with session.begin_nested():
            await signals
    except Exception as exc:
        if is_transient(exc):
            raise
        log.exception("client %s: a crisis message's signals could not be kept", client.id)
