"""``/start``: use an invite to link a Telegram account, or be told how to get one."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import CommandObject, CommandStart
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from service.audit.models import ActorKind
from service.audit.service import record_audit
from service.bot.consent import ask_consent, has_consented
from service.bot.replies import reply
from service.bot.texts import ROLE_NAMES, STAFF_COMMANDS, language_of, text
from service.clients.invites import redeem_invite
from service.clients.models import Client, ClientState
from service.columns import utcnow
from service.conversations.models import InboundMessage
from service.errors import InviteExpired, InviteNotFound, InviteUsed, LinkConflict
from service.outbox.service import enqueue_call
from service.staff.models import StaffMember

INVITE_ERRORS: dict[type[Exception], str] = {
    InviteNotFound: "invite_not_found",
    InviteUsed: "invite_used",
    InviteExpired: "invite_expired",
    LinkConflict: "link_conflict",
}


def build_router() -> Router:
    router = Router(name="start")
    router.message.filter(F.chat.type == "private")
    router.message.register(start_with_invite, CommandStart(deep_link=True))
    router.message.register(start_without_invite, CommandStart())
    return router


async def start_with_invite(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    inbound: InboundMessage,
    client: Client | None,
) -> None:
    assert message.from_user is not None
    language = client.language if client else language_of(message.from_user.language_code)
    token = (command.args or "").strip()
    inbound.text = "/start <invite>"  # a credential, not something the person wrote to us
    try:
        async with session.begin_nested():
            redeemed = await redeem_invite(
                session,
                token,
                telegram_user_id=message.from_user.id,
                chat_id=message.chat.id,
                now=utcnow(),
            )
    except (InviteNotFound, InviteUsed, InviteExpired, LinkConflict) as exc:
        await reply(session, message.chat.id, text(language, INVITE_ERRORS[type(exc)]))
        return
    if isinstance(redeemed.subject, Client):
        inbound.client_id = redeemed.subject.id
    else:
        inbound.staff_member_id = redeemed.subject.id
    await _greet(session, message, redeemed.subject, again=redeemed.again)


async def start_without_invite(
    message: Message, session: AsyncSession, client: Client | None, staff: StaffMember | None
) -> None:
    assert message.from_user is not None
    subject = client or staff
    if subject is None:
        language = language_of(message.from_user.language_code)
        await reply(session, message.chat.id, text(language, "no_invite"))
    else:
        await _greet(session, message, subject, again=True)


async def _greet(
    session: AsyncSession, message: Message, subject: Client | StaffMember, *, again: bool
) -> None:
    if isinstance(subject, StaffMember):
        role = ROLE_NAMES[subject.language][subject.role]
        linked = text(subject.language, "linked_staff", name=subject.name, role=role)
        await reply(session, message.chat.id, linked, to=subject)
        commands = [
            {"command": name, "description": about}
            for name, about in STAFF_COMMANDS[language_of(subject.language)]
        ]
        await enqueue_call(  # the staff menu in this chat, instead of the alumni's
            session,
            chat_id=message.chat.id,
            method="setMyCommands",
            payload={"commands": commands, "scope": {"type": "chat", "chat_id": message.chat.id}},
        )
    elif subject.state in {ClientState.invited, ClientState.consent_pending}:
        if not again:
            greeting = text(subject.language, "linked_client", first_name=subject.first_name)
            await reply(session, message.chat.id, greeting, to=subject)
        await ask_consent(session, subject, first=again)
    elif subject.state == ClientState.opted_out and not await has_consented(session, subject):
        await ask_consent(session, subject)
    else:
        if subject.state == ClientState.opted_out:  # coming back after /stop
            subject.state = ClientState.active
            subject.updated_at = utcnow()
            await record_audit(session, ActorKind.client, "client.returned", "client", subject.id)
        greeting = text(subject.language, "welcome_back", first_name=subject.first_name)
        await reply(session, message.chat.id, greeting, to=subject)
