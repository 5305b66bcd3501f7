"""The sandbox page: chat as an alumnus and as a coordinator in the browser, without Telegram.

Only when the service runs on the sandbox Bot API (else every route here is a 404), for admins
and coordinators: an admin plays anyone, a coordinator their own clients and their own staff
member only (else they could press another's alert buttons as them), and only admins make staff.
A person is made as the service makes anyone: an invite (a client's, or a coordinator's), which
a sandbox Telegram user opens with ``/start <token>``; from then on the page plays that user
through the sandbox's control API, server-side. The browser talks only to the console: the chat
page polls ``GET /console/sandbox/chats/{user_id}/messages`` and posts forms (with the session's
CSRF token) to ``.../send`` and ``.../press``; without JavaScript the same forms post and come
back to the page.

Sandbox user ids say who they are: ``ALUMNI_FROM + client id`` plays that client,
``STAFF_FROM + staff id`` that staff member, so nothing more is stored. The sandbox keeps its
users and chats in memory: when it restarts, the list starts over.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import aiohttp
import sqlalchemy as sa
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.bot.texts import LANGUAGES
from service.clients.invites import IssuedInvite, invite_client, invite_staff
from service.clients.models import Client
from service.clients.timezones import COMMON
from service.console.accounts import SignedIn
from service.sandbox.chat import describe
from service.sandbox.client import JSON, SandboxClient, SandboxControlError
from service.staff.models import ConsoleRole, StaffMember, StaffRole
from service.web.console import (
    Acting,
    Admin,
    CheckedForm,
    Database,
    Form,
    Id,
    NotAllowed,
    actor_of,
    as_id,
    audit,
    console_of,
    private,
    see_other,
    visible_clients,
)

ALUMNI_FROM = 9_000_000  # sandbox user of client N: ALUMNI_FROM + N
STAFF_FROM = 9_500_000  # of staff member N: STAFF_FROM + N
PEOPLE_END = 10_000_000
MAX_TEXT = 4096  # Telegram's limit for a message
LINK_SCHEMES = ("https://", "http://", "tg://")
UNREACHABLE = "The sandbox Bot API does not answer. Is it running?"
PROBLEMS = {  # what went wrong, by the code a chat page is sent back with
    "text": f"Write a message of 1 to {MAX_TEXT} characters.",
    "refused": "The sandbox refused that: the button may have gone. Try again.",
    "unreachable": UNREACHABLE,
}

router = APIRouter()


async def sandbox_client(request: Request) -> AsyncIterator[SandboxClient]:
    """The sandbox's control API, for the length of a request; a 404 when the service does not
    run on the sandbox (the page does not exist then)."""
    url = console_of(request).sandbox_url
    if url is None:
        raise HTTPException(status_code=404)
    async with SandboxClient(url, request_timeout=10) as client:
        yield client


# The sandbox first: without it the pages do not exist for anyone, signed in or not.
Sandbox = Annotated[SandboxClient, Depends(sandbox_client)]


# --- people --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """A sandbox user the page plays: an alumnus (a client) or a coordinator (staff)."""

    user_id: int
    kind: Literal["alumnus", "coordinator"]
    subject_id: int
    name: str
    about: str  # "code ABC123, onboarding", or "linked" for staff
    language: str


def alumnus_user(client_id: int) -> int:
    user_id = ALUMNI_FROM + client_id
    if user_id >= STAFF_FROM:
        raise ValueError("client ids past 500,000 have no sandbox user")
    return user_id


def staff_user(staff_id: int) -> int:
    user_id = STAFF_FROM + staff_id
    if user_id >= PEOPLE_END:
        raise ValueError("staff ids past 500,000 have no sandbox user")
    return user_id


def playable_staff(viewer: SignedIn) -> sa.ColumnElement[bool]:
    """The staff members a user may play: anyone for an admin, a coordinator's own staff
    member only (none while their account is not linked to one)."""
    if viewer.role is not ConsoleRole.coordinator:
        return sa.true()
    if viewer.staff_member_id is None:
        return sa.false()
    return col(StaffMember.id) == viewer.staff_member_id


async def people(session: AsyncSession, viewer: SignedIn, user_ids: list[int]) -> dict[int, Person]:
    """Who these sandbox users play, among those ``viewer`` may play (a coordinator: their own
    clients, and their own staff member)."""
    client_ids = [u - ALUMNI_FROM for u in user_ids if ALUMNI_FROM < u < STAFF_FROM]
    staff_ids = [u - STAFF_FROM for u in user_ids if STAFF_FROM < u < PEOPLE_END]
    found: dict[int, Person] = {}
    if client_ids:
        clients = await session.scalars(
            sa.select(Client).where(col(Client.id).in_(client_ids), visible_clients(viewer))
        )
        for client in clients:
            assert client.id is not None
            found[alumnus_user(client.id)] = Person(
                alumnus_user(client.id),
                "alumnus",
                client.id,
                client.first_name,
                f"code {client.code}, {client.state.value.replace('_', ' ')}",
                client.language,
            )
    if staff_ids:
        members = await session.scalars(
            sa.select(StaffMember).where(col(StaffMember.id).in_(staff_ids), playable_staff(viewer))
        )
        for member in members:
            assert member.id is not None
            found[staff_user(member.id)] = Person(
                staff_user(member.id),
                "coordinator",
                member.id,
                member.name,
                "linked" if member.telegram_user_id is not None else "invite not opened yet",
                member.language,
            )
    return found


async def person(session: AsyncSession, viewer: SignedIn, user_id: int) -> Person:
    """The person a chat's user plays, or a 404 (not one of the page's, or not the viewer's)."""
    found = (await people(session, viewer, [user_id])).get(user_id)
    if found is None:
        raise HTTPException(status_code=404, detail="There is no such person in the sandbox.")
    return found


# --- making people -------------------------------------------------------------------------


@dataclass
class AlumnusForm:
    """The new-alumnus form as typed, and what is wrong with it."""

    first_name: str = ""
    language: str = "en"
    timezone: str = ""
    discharge_date: str = ""
    coordinator: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def read(cls, form: Form, coordinators: list[StaffMember]) -> AlumnusForm:
        typed = cls(
            first_name=form.get("first_name", "").strip(),
            language=form.get("language", ""),
            timezone=form.get("timezone", ""),
            discharge_date=form.get("discharge_date", "").strip(),
            coordinator=form.get("coordinator", ""),
        )
        if not typed.first_name:
            typed.errors["first_name"] = "Give a first name."
        elif len(typed.first_name) > 80:
            typed.errors["first_name"] = "A first name of at most 80 characters."
        if typed.language not in LANGUAGES:
            typed.errors["language"] = "Choose a language."
        if not _known_timezone(typed.timezone):
            typed.errors["timezone"] = "Choose a time zone."
        if typed.discharge_date and typed.discharge() is None:
            typed.errors["discharge_date"] = "A date such as 2026-11-01, or nothing."
        if typed.coordinator and typed.coordinator not in {str(m.id) for m in coordinators}:
            typed.errors["coordinator"] = "Choose one of the coordinators."
        return typed

    def discharge(self) -> date | None:
        try:
            return date.fromisoformat(self.discharge_date) if self.discharge_date else None
        except ValueError:
            return None


def _known_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


async def coordinators(session: AsyncSession) -> list[StaffMember]:
    """Coordinators a new alumnus may be given to."""
    found = await session.scalars(
        sa.select(StaffMember)
        .where(col(StaffMember.role) == StaffRole.coordinator, col(StaffMember.active))
        .order_by(col(StaffMember.name), col(StaffMember.id))
    )
    return list(found)


async def start_alumnus(
    request: Request,
    session: AsyncSession,
    telegram: SandboxClient,
    viewer: SignedIn,
    typed: AlumnusForm,
) -> int:
    """An alumnus as the service enrols one: a client invite, which their sandbox user opens
    with ``/start <token>``. Their sandbox user id."""
    config = console_of(request).config
    # A coordinator's alumni are theirs (else they could not see them); an admin chooses.
    if viewer.role is ConsoleRole.coordinator:
        coordinator_id = viewer.staff_member_id
    else:
        coordinator_id = int(typed.coordinator) if typed.coordinator else None
    issued = await invite_client(
        session,
        first_name=typed.first_name,
        timezone=typed.timezone,
        language=typed.language,
        ttl=config.invite_ttl,
        now=config.clock(),
        discharge_date=typed.discharge(),
        coordinator_id=coordinator_id,
        by=actor_of(viewer),
    )
    await audit(session, viewer, "sandbox.alumnus_created", "client", issued.subject_id)
    user_id = alumnus_user(issued.subject_id)
    return await open_invite(
        session, telegram, issued, user_id=user_id, name=typed.first_name, language=typed.language
    )


async def start_coordinator(
    request: Request, session: AsyncSession, telegram: SandboxClient, viewer: SignedIn, name: str
) -> int:
    """A coordinator as the service links one: a staff invite, opened with ``/start``."""
    config = console_of(request).config
    issued = await invite_staff(
        session,
        name=name,
        role=StaffRole.coordinator,
        ttl=config.invite_ttl,
        now=config.clock(),
        by=actor_of(viewer),
    )
    await audit(session, viewer, "sandbox.coordinator_created", "staff_member", issued.subject_id)
    user_id = staff_user(issued.subject_id)
    return await open_invite(session, telegram, issued, user_id=user_id, name=name, language="en")


async def open_invite(
    session: AsyncSession,
    telegram: SandboxClient,
    issued: IssuedInvite,
    *,
    user_id: int,
    name: str,
    language: str,
) -> int:
    """Commit the invite (and its audit), then have its sandbox user open it with
    ``/start <token>``, as a person does in Telegram. Their sandbox user id."""
    await session.commit()
    await telegram.ensure_user(user_id, name, language_code=language)
    await telegram.send_text(user_id, f"/start {issued.token}")
    return user_id


# --- messages ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Button:
    label: str
    data: str | None = None  # callback data: pressing sends it to the bot
    url: str | None = None  # a link button (http, https or tg only)


@dataclass(frozen=True)
class Shown:
    """A message as the page shows it: text as Telegram displays it (the sandbox has parsed
    the bot's HTML), media as a bracketed note, and the inline keyboard's rows."""

    id: int
    from_bot: bool
    text: str
    edited: bool
    buttons: list[list[Button]]

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def shown(message: JSON) -> Shown:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
    return Shown(
        id=int(message["message_id"]),
        from_bot=bool(message["from_bot"]),
        text=describe(message),
        edited=bool(message["edited"]),
        buttons=[[_button(b) for b in row] for row in rows],
    )


def _button(button: JSON) -> Button:
    url = button.get("url")
    return Button(
        label=str(button.get("text", "")),
        data=button.get("callback_data"),
        url=url if isinstance(url, str) and url.startswith(LINK_SCHEMES) else None,
    )


async def conversation(telegram: SandboxClient, who: Person) -> list[Shown]:
    """The chat so far (deleted messages left out); a chat the sandbox has forgotten (it
    restarted) is made again, empty."""
    try:
        messages = await telegram.messages(who.user_id)
    except SandboxControlError as error:
        if error.status != 404:
            raise
        await telegram.ensure_user(who.user_id, who.name, language_code=who.language)
        return []
    return [shown(message) for message in messages if not message["deleted"]]


# --- routes --------------------------------------------------------------------------------


@router.get("/console/sandbox", response_class=HTMLResponse)
async def sandbox_page(
    request: Request, telegram: Sandbox, session: Database, viewer: Acting
) -> Response:
    return await _sandbox_page(request, telegram, session, viewer)


async def _sandbox_page(
    request: Request,
    telegram: SandboxClient,
    session: AsyncSession,
    viewer: SignedIn,
    *,
    alumnus: AlumnusForm | None = None,
    coordinator_error: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    config = console_of(request).config
    try:
        user_ids = [int(user["id"]) for user in await telegram.users()]
    except aiohttp.ClientError:
        user_ids, error, status_code = [], UNREACHABLE, 502
    found = await people(session, viewer, user_ids)
    zones = [(label, name) for label, _, name in COMMON]
    if config.default_timezone not in {name for _, name in zones}:
        zones.insert(0, (config.default_timezone, config.default_timezone))
    return console_of(request).render(
        request,
        "sandbox.html",
        {
            "people": [found[user_id] for user_id in sorted(found, reverse=True)],
            "alumnus": alumnus
            or AlumnusForm(timezone=config.default_timezone, language=config.default_language),
            "coordinator_error": coordinator_error,
            "error": error,
            "coordinators": await coordinators(session),
            "choose_coordinator": viewer.role is not ConsoleRole.coordinator,
            "may_make_staff": viewer.role is ConsoleRole.admin,
            "unlinked": viewer.role is ConsoleRole.coordinator and viewer.staff_member_id is None,
            "languages": LANGUAGES,
            "zones": zones,
        },
        status_code=status_code,
    )


@router.post("/console/sandbox/alumni")
async def new_alumnus(
    request: Request, telegram: Sandbox, session: Database, viewer: Acting, form: CheckedForm
) -> Response:
    if viewer.role is ConsoleRole.coordinator and viewer.staff_member_id is None:
        raise NotAllowed  # an alumnus of theirs would be no one's they could see
    typed = AlumnusForm.read(form, await coordinators(session))
    if typed.errors:
        return await _sandbox_page(
            request, telegram, session, viewer, alumnus=typed, status_code=400
        )
    try:
        user_id = await start_alumnus(request, session, telegram, viewer, typed)
    except (aiohttp.ClientError, SandboxControlError):
        return await _sandbox_page(
            request, telegram, session, viewer, alumnus=typed, error=UNREACHABLE, status_code=502
        )
    return see_other(f"/console/sandbox/chats/{user_id}")


@router.post("/console/sandbox/coordinators")
async def new_coordinator(
    request: Request, telegram: Sandbox, session: Database, viewer: Admin, form: CheckedForm
) -> Response:
    """A new staff member (admins only, as in the team page's invites)."""
    name = form.get("name", "").strip()
    if not name or len(name) > 120:
        problem = "Give a name of at most 120 characters."
        return await _sandbox_page(
            request, telegram, session, viewer, coordinator_error=problem, status_code=400
        )
    try:
        user_id = await start_coordinator(request, session, telegram, viewer, name)
    except (aiohttp.ClientError, SandboxControlError):
        return await _sandbox_page(
            request, telegram, session, viewer, error=UNREACHABLE, status_code=502
        )
    return see_other(f"/console/sandbox/chats/{user_id}")


@dataclass(frozen=True)
class Playing:
    """A chat's sandbox user, and the control API to play them with."""

    telegram: SandboxClient
    person: Person


async def playing(user_id: Id, telegram: Sandbox, session: Database, viewer: Acting) -> Playing:
    return Playing(telegram, await person(session, viewer, user_id))


Chat = Annotated[Playing, Depends(playing)]


@router.get("/console/sandbox/chats/{user_id}", response_class=HTMLResponse)
async def chat_page(request: Request, chat: Chat, problem: str | None = None) -> Response:
    error = PROBLEMS.get(problem or "")
    try:
        messages = await conversation(chat.telegram, chat.person)
    except (aiohttp.ClientError, SandboxControlError):
        messages, error = [], UNREACHABLE
    return console_of(request).render(
        request,
        "sandbox_chat.html",
        {
            "person": chat.person,
            "base": f"/console/sandbox/chats/{chat.person.user_id}",
            "messages": messages,
            "messages_json": [message.as_json() for message in messages],
            "error": error,
            "max_text": MAX_TEXT,
        },
    )


@router.get("/console/sandbox/chats/{user_id}/messages")
async def chat_messages(chat: Chat) -> Response:
    """The chat as JSON, for the page's script: ``{"messages": [{id, from_bot, text, edited,
    buttons: [[{label, data, url}]]}]}``. Text is text: the script shows it as such."""
    try:
        messages = await conversation(chat.telegram, chat.person)
    except (aiohttp.ClientError, SandboxControlError):
        return private(JSONResponse({"error": UNREACHABLE}, status_code=502))
    return private(JSONResponse({"messages": [message.as_json() for message in messages]}))


@router.post("/console/sandbox/chats/{user_id}/send")
async def send(request: Request, chat: Chat, form: CheckedForm) -> Response:
    """The person writes ``text`` to the bot."""
    text = form.get("text", "").strip()
    if not text or len(text) > MAX_TEXT:
        return _acted(request, chat.person, "text")
    try:
        await chat.telegram.send_text(chat.person.user_id, text)
    except (aiohttp.ClientError, SandboxControlError):
        return _acted(request, chat.person, "unreachable")
    return _acted(request, chat.person)


@router.post("/console/sandbox/chats/{user_id}/press")
async def press(request: Request, chat: Chat, form: CheckedForm) -> Response:
    """The person presses the button with callback ``data`` under bot message ``message_id``."""
    message_id = as_id(form.get("message_id"))
    if message_id is None or not form.get("data"):
        return _acted(request, chat.person, "refused")
    try:
        await chat.telegram.press_button(chat.person.user_id, message_id, form["data"])
    except SandboxControlError:
        return _acted(request, chat.person, "refused")
    except aiohttp.ClientError:
        return _acted(request, chat.person, "unreachable")
    return _acted(request, chat.person)


def _acted(request: Request, who: Person, problem: str | None = None) -> Response:
    """The script (which asks for JSON) gets ``{"ok": ...}``; a form posted without it goes
    back to the chat, told what went wrong (a key of ``PROBLEMS``)."""
    if "application/json" in request.headers.get("accept", ""):
        body = {"ok": True} if problem is None else {"ok": False, "error": PROBLEMS[problem]}
        return private(JSONResponse(body, status_code=200 if problem is None else 400))
    back = f"/console/sandbox/chats/{who.user_id}" + (f"?problem={problem}" if problem else "")
    return see_other(back)
