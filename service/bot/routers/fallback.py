"""The last router: whatever else a person sends gets a short, kind answer, and is kept."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from service.bot.consent import ask_consent
from service.bot.replies import reply
from service.bot.texts import language_of, text
from service.clients.models import Client, ClientState


def build_router() -> Router:
    router = Router(name="fallback")
    router.message.filter(F.chat.type == "private")
    router.edited_message.filter(F.chat.type == "private")
    router.message.register(not_text, ~F.text)
    router.message.register(free_text, F.text)
    router.edited_message.register(edited)
    return router


def _language(message: Message, client: Client | None) -> str:
    if client is not None:
        return client.language
    return language_of(message.from_user.language_code if message.from_user else None)


async def not_text(message: Message, session: AsyncSession, client: Client | None) -> None:
    await reply(session, message.chat.id, text(_language(message, client), "only_text"), to=client)


async def edited(message: Message, session: AsyncSession, client: Client | None) -> None:
    await reply(session, message.chat.id, text(_language(message, client), "edited"), to=client)


async def free_text(message: Message, session: AsyncSession, client: Client | None) -> None:
    if client is None:
        await reply(session, message.chat.id, text(_language(message, client), "not_enrolled"))
    elif client.state in {ClientState.invited, ClientState.consent_pending}:
        await ask_consent(session, client, first=True)
    elif (message.text or "").startswith("/"):  # a command no router knows: what there is
        await reply(session, message.chat.id, text(client.language, "help"), to=client)
