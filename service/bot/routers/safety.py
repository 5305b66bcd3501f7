"""The safety net, first of all routers: crisis words and /sos get the crisis response and an
alert, whatever the conversation state, pause or opt-out, enrolled or not."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from service.alerts.service import raise_alert
from service.bot.replies import reply
from service.bot.texts import language_of, text
from service.clients.models import Client
from service.columns import utcnow
from service.content.compose import ClientFacts
from service.content.library import Category
from service.content.service import Messaging, compose_plain
from service.content.tailoring import Moment
from service.conversations.models import InboundMessage
from service.outbox.models import Lane
from service.signals.crisis import crisis_kind
from service.signals.models import Severity, Signal, SignalKind


def build_router() -> Router:
    router = Router(name="safety")
    router.message.filter(F.chat.type == "private")
    router.edited_message.filter(F.chat.type == "private")
    router.message.register(sos, Command("sos"))
    router.message.register(crisis_words, F.text.func(crisis_kind))
    router.edited_message.register(crisis_words, F.text.func(crisis_kind))
    return router


async def crisis_words(
    message: Message,
    session: AsyncSession,
    inbound: InboundMessage,
    client: Client | None,
    messaging: Messaging,
) -> None:
    kind = SignalKind(crisis_kind(message.text) or SignalKind.self_harm)
    await respond_to_crisis(session, message, inbound, client, messaging, kind=kind)


async def sos(
    message: Message,
    session: AsyncSession,
    inbound: InboundMessage,
    client: Client | None,
    messaging: Messaging,
) -> None:
    await respond_to_crisis(session, message, inbound, client, messaging, kind=SignalKind.sos)


async def respond_to_crisis(
    session: AsyncSession,
    message: Message,
    inbound: InboundMessage,
    client: Client | None,
    messaging: Messaging,
    *,
    kind: SignalKind,
) -> None:
    """Crisis resources at once on the most urgent lane; for a client, a signal and an alert."""
    assert message.from_user is not None
    now = utcnow()
    language = client.language if client else language_of(message.from_user.language_code)
    first_name = client.first_name if client else message.from_user.first_name
    composed = await compose_plain(
        session,
        messaging,
        Moment(Category.crisis_response, now.date(), {"alert": kind.value}),
        ClientFacts(first_name, language),
        client.id if client and client.id else message.from_user.id,
    )
    reply_text = composed.text if composed else text(language, "sos_unknown")
    await reply(
        session,
        message.chat.id,
        reply_text,
        to=client,
        lane=Lane.crisis,
        reason=composed.reason if composed else {"category": "crisis_response"},
        template_version_id=composed.template_version_id if composed else None,
    )
    if client is None or client.id is None:
        return
    signal = Signal(
        client_id=client.id,
        inbound_message_id=inbound.id,
        kind=kind,
        severity=Severity.critical,
        evidence={"detector": "crisis phrases" if kind is not SignalKind.sos else "/sos"},
    )
    session.add(signal)
    await session.flush()
    await raise_alert(
        session, client, kind, Severity.critical, now=now, messaging=messaging, signal_id=signal.id
    )
