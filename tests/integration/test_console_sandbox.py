"""The console's sandbox page over HTTP, as its script and its forms use it: making an alumnus
and a coordinator, chatting as them with the real bot and worker running on the sandbox Bot
API, pressing buttons, and who may do so."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import col

from service.alerts.models import Alert, AlertStatus
from service.audit.models import AuditEntry
from service.clients.models import Client
from service.config import Settings
from service.db import session_factory
from service.runtime import Services
from service.sandbox.client import SandboxClient
from service.sandbox.server import SandboxServer
from service.staff.models import StaffMember, StaffRole
from service.web.sandbox import ALUMNI_FROM, STAFF_FROM
from tests.console import HTML, Clock, create, csrf_of, post, signed_in

JSON_ACCEPT = {"accept": "application/json"}
TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "web"
Message = dict[str, Any]


async def messages(web: httpx.AsyncClient, user_id: int) -> list[Message]:
    answer = await web.get(f"/console/sandbox/chats/{user_id}/messages", headers=JSON_ACCEPT)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    found: list[Message] = answer.json()["messages"]
    return found


async def until(
    web: httpx.AsyncClient,
    user_id: int,
    seen: Callable[[list[Message]], bool],
    within: float = 10.0,
) -> list[Message]:
    """The chat as the page's script polls it, once ``seen`` holds (else fail)."""
    async with asyncio.timeout(within):
        while True:
            chat = await messages(web, user_id)
            if seen(chat):
                return chat
            await asyncio.sleep(0.05)


def said(text: str) -> Callable[[list[Message]], bool]:
    return lambda chat: any(m["from_bot"] and text in m["text"] for m in chat)


def with_button(chat: list[Message], label: str) -> tuple[Message, str]:
    """The last bot message with a button ``label``, and the button's callback data."""
    for message in reversed(chat):
        for row in message["buttons"]:
            for button in row:
                if button["label"] == label:
                    return message, button["data"]
    raise AssertionError(f"no button {label!r} in {chat}")


async def act(web: httpx.AsyncClient, path: str, data: dict[str, str]) -> httpx.Response:
    """A form posted by the page's script: the session's CSRF token, asking for JSON."""
    form = {"csrf_token": await csrf_of(web), **data}
    return await web.post(path, data=form, headers=JSON_ACCEPT)


async def press(web: httpx.AsyncClient, user_id: int, message: Message, data: str) -> None:
    pressed = await act(
        web,
        f"/console/sandbox/chats/{user_id}/press",
        {"message_id": str(message["id"]), "data": data},
    )
    assert pressed.json() == {"ok": True}


async def new_person(web: httpx.AsyncClient, path: str, data: dict[str, str]) -> int:
    made = await post(web, path, data)
    assert made.status_code == 303, made.text
    location = made.headers["location"]
    assert location.startswith("/console/sandbox/chats/")
    return int(location.rsplit("/", 1)[1])


def alumnus(first_name: str, **more: str) -> dict[str, str]:
    return {
        "first_name": first_name,
        "language": "en",
        "timezone": "America/New_York",
        "discharge_date": "",
        **more,
    }


async def test_the_whole_journey_from_the_console(
    bot_service: Services,
    engine: AsyncEngine,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await create(bot_service.settings, "ana@example.org", "admin")
    async with signed_in(
        engine, clock, "ana@example.org", sandbox_url=bot_service.telegram.api_base
    ) as web:
        page = await web.get("/console/sandbox", headers=HTML)
        assert page.status_code == 200
        assert 'href="/console/sandbox" aria-current="page"' in page.text
        assert "Nobody yet" in page.text

        dana = await new_person(web, "/console/sandbox/coordinators", {"name": "Dana"})
        assert dana > STAFF_FROM
        await until(web, dana, said("Hi Dana, your Telegram account is now linked as"))

        kai = await new_person(
            web,
            "/console/sandbox/alumni",
            alumnus("Kai", discharge_date="2026-11-01", coordinator=str(dana - STAFF_FROM)),
        )
        assert ALUMNI_FROM < kai < STAFF_FROM
        chat = await until(web, kai, lambda chat: any(m["buttons"] for m in chat))
        assert not chat[0]["from_bot"] and chat[0]["text"].startswith("/start ")
        assert chat[1]["text"].startswith("Hi Kai, thank you for joining.")
        consent, agree = with_button(chat, "I agree")
        assert [[b["label"] for b in row] for row in consent["buttons"]] == [["I agree", "Not now"]]
        await press(web, kai, consent, agree)
        await until(web, kai, said("Thank you, Kai. I'm glad you're here."))

        refused = await act(
            web,
            f"/console/sandbox/chats/{kai}/press",
            {"message_id": str(consent["id"]), "data": "not-a-button"},
        )
        assert refused.status_code == 400
        assert refused.json()["ok"] is False

        sent = await act(web, f"/console/sandbox/chats/{kai}/send", {"text": "I took 20 tylenol"})
        assert sent.json() == {"ok": True}
        await until(web, kai, said("911"))
        alert_chat = await until(web, dana, lambda chat: any(m["buttons"] for m in chat))
        alert, acknowledge = with_button(alert_chat, "Acknowledge")
        assert "/console/alerts/" in alert["text"]
        await press(web, dana, alert, acknowledge)
        await until(web, dana, said("Acknowledged by Dana"))

        listed = await web.get("/console/sandbox", headers=HTML)
        assert f'href="/console/sandbox/chats/{kai}">Chat as Kai</a>' in listed.text
        assert f'href="/console/sandbox/chats/{dana}">Chat as Dana</a>' in listed.text

    async with sessions() as session:
        client = await session.get(Client, kai - ALUMNI_FROM)
        member = await session.get(StaffMember, dana - STAFF_FROM)
        [stored] = (await session.scalars(sa.select(Alert))).all()
        actions = (
            await session.scalars(
                sa.select(col(AuditEntry.action)).where(col(AuditEntry.action).like("sandbox.%"))
            )
        ).all()
    assert client is not None and member is not None
    assert (client.telegram_user_id, client.coordinator_id) == (kai, member.id)
    assert str(client.discharge_date) == "2026-11-01"
    assert (member.telegram_user_id, member.role) == (dana, StaffRole.coordinator)
    assert (stored.status, stored.acknowledged_by) == (AlertStatus.acknowledged, member.id)
    assert sorted(actions) == ["sandbox.alumnus_created", "sandbox.coordinator_created"]


async def test_what_the_bot_says_comes_back_as_text(
    bot_service: Services,
    engine: AsyncEngine,
    clock: Clock,
) -> None:
    name = "<script>alert(1)</script>"
    await create(bot_service.settings, "ana@example.org", "admin")
    async with signed_in(
        engine, clock, "ana@example.org", sandbox_url=bot_service.telegram.api_base
    ) as web:
        person = await new_person(web, "/console/sandbox/alumni", alumnus(name))
        chat = await until(web, person, said(f"Hi {name}, thank you for joining."))
        page = await web.get(f"/console/sandbox/chats/{person}", headers=HTML)
        listed = await web.get("/console/sandbox", headers=HTML)
    assert any(m["text"].startswith(f"Hi {name},") for m in chat)  # plain text, as JSON
    for html in (page.text, listed.text):
        assert name not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Hi \\u003cscript\\u003ealert(1)" in page.text  # the script's first look, escaped
    template = (TEMPLATES / "sandbox_chat.html").read_text()
    assert "innerHTML" not in template and "insertAdjacentHTML" not in template
    assert "textContent" in template


async def test_without_the_sandbox_there_is_no_sandbox_page(
    settings: Settings, engine: AsyncEngine, clock: Clock
) -> None:
    await create(settings, "ana@example.org", "admin")
    async with signed_in(engine, clock, "ana@example.org") as web:
        home = await web.get("/console", headers=HTML)
        assert 'href="/console/sandbox"' not in home.text
        for path in (
            "/console/sandbox",
            f"/console/sandbox/chats/{ALUMNI_FROM + 1}",
            f"/console/sandbox/chats/{ALUMNI_FROM + 1}/messages",
        ):
            assert (await web.get(path, headers=HTML)).status_code == 404
        made = await post(web, "/console/sandbox/alumni", alumnus("Kai"))
        assert made.status_code == 404


async def test_viewers_may_not_and_coordinators_play_their_own_clients_only(
    settings: Settings,
    engine: AsyncEngine,
    clock: Clock,
    sandbox: SandboxServer,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """No bot runs here: a person is made, and writes, whether anyone answers or not."""
    async with sessions() as session:
        mine, theirs = StaffMember(name="Avery"), StaffMember(name="Blake")
        session.add_all([mine, theirs])
        await session.commit()
    assert mine.id is not None and theirs.id is not None
    await create(settings, "vi@example.org", "viewer")
    await create(settings, "ana@example.org", "admin")
    await create(settings, "avery@example.org", "coordinator", staff=mine.id)
    url = sandbox.base_url

    await create(settings, "dee@example.org", "coordinator")  # not linked to a staff member
    async with signed_in(engine, clock, "vi@example.org", sandbox_url=url) as web:
        assert (await web.get("/console/sandbox", headers=HTML)).status_code == 403
        assert (await post(web, "/console/sandbox/alumni", alumnus("Kai"))).status_code == 403
    async with signed_in(engine, clock, "dee@example.org", sandbox_url=url) as web:
        page = await web.get("/console/sandbox", headers=HTML)
        assert "an alumnus you make would not" in page.text and 'id="first_name"' not in page.text
        assert (await post(web, "/console/sandbox/alumni", alumnus("Kai"))).status_code == 403

    async with signed_in(engine, clock, "ana@example.org", sandbox_url=url) as web:
        blakes = await new_person(
            web, "/console/sandbox/alumni", alumnus("Bo", coordinator=str(theirs.id))
        )
        wrong = await post(
            web, "/console/sandbox/alumni", alumnus(" ", timezone="Mars/Olympus", coordinator="x")
        )
        assert wrong.status_code == 400
        assert 'id="first_name-error">Give a first name.</p>' in wrong.text
        assert 'id="timezone" name="timezone" aria-invalid="true"' in wrong.text
        assert "Choose one of the coordinators." in wrong.text

    async with signed_in(engine, clock, "avery@example.org", sandbox_url=url) as web:
        page = await web.get("/console/sandbox", headers=HTML)
        assert 'id="coordinator"' not in page.text  # their alumni are theirs
        own = await new_person(web, "/console/sandbox/alumni", alumnus("Cy", coordinator=""))
        listed = await web.get("/console/sandbox", headers=HTML)
        assert "Chat as Cy" in listed.text and "Chat as Bo" not in listed.text
        for path in (
            f"/console/sandbox/chats/{blakes}",
            f"/console/sandbox/chats/{blakes}/messages",
        ):
            assert (await web.get(path, headers=HTML)).status_code == 404
        assert (
            await post(web, f"/console/sandbox/chats/{blakes}/send", {"text": "hi"})
        ).status_code == 404

        # without the page's script: the form posts, and the chat comes back
        sent = await post(web, f"/console/sandbox/chats/{own}/send", {"text": "hello <b>there</b>"})
        assert (sent.status_code, sent.headers["location"]) == (
            303,
            f"/console/sandbox/chats/{own}",
        )
        chat = await web.get(sent.headers["location"], headers=HTML)
        assert '<p class="text">hello &lt;b&gt;there&lt;/b&gt;</p>' in chat.text
        assert '<input id="say" name="text"' in chat.text and ">Send</button>" in chat.text
        assert 'id="chat" class="chat" role="log"' in chat.text
        empty = await post(web, f"/console/sandbox/chats/{own}/send", {"text": "  "})
        assert empty.headers["location"] == f"/console/sandbox/chats/{own}?problem=text"
        forged = await web.post(f"/console/sandbox/chats/{own}/send", data={"text": "hi"})
        assert forged.status_code == 403
        assert [m["text"] for m in await messages(web, own)][-1] == "hello <b>there</b>"
    async with sessions() as session:
        client = await session.get(Client, own - ALUMNI_FROM)
    assert client is not None and client.coordinator_id == mine.id


async def test_coordinators_play_their_own_staff_member_only_and_only_admins_make_staff(
    settings: Settings,
    engine: AsyncEngine,
    clock: Clock,
    telegram: SandboxClient,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """A coordinator playing another staff member (a supervisor, say) could press the buttons
    under their alerts as them: they play their own staff member only."""
    async with sessions() as session:
        mine = StaffMember(name="Avery")
        theirs = StaffMember(name="Blake", role=StaffRole.supervisor)
        session.add_all([mine, theirs])
        await session.commit()
    assert mine.id is not None and theirs.id is not None
    await create(settings, "ana@example.org", "admin")
    await create(settings, "avery@example.org", "coordinator", staff=mine.id)
    await create(settings, "dee@example.org", "coordinator")  # not linked to a staff member
    averys, blakes = STAFF_FROM + mine.id, STAFF_FROM + theirs.id
    for user_id, name in ((averys, "Avery"), (blakes, "Blake")):  # as if made here before
        await telegram.ensure_user(user_id, name)
    url = telegram.base_url

    async with signed_in(engine, clock, "ana@example.org", sandbox_url=url) as web:
        sid = await new_person(web, "/console/sandbox/coordinators", {"name": "Sid"})
        listed = await web.get("/console/sandbox", headers=HTML)
        for name in ("Avery", "Blake", "Sid"):  # an admin plays anyone
            assert f">Chat as {name}</a>" in listed.text
        assert 'action="/console/sandbox/coordinators"' in listed.text
        assert (await web.get(f"/console/sandbox/chats/{blakes}", headers=HTML)).status_code == 200

    async with signed_in(engine, clock, "avery@example.org", sandbox_url=url) as web:
        listed = await web.get("/console/sandbox", headers=HTML)
        assert ">Chat as Avery</a>" in listed.text
        assert "Chat as Blake" not in listed.text and "Chat as Sid" not in listed.text
        assert 'action="/console/sandbox/coordinators"' not in listed.text
        assert (await web.get(f"/console/sandbox/chats/{averys}", headers=HTML)).status_code == 200
        for other in (blakes, sid):
            for path in (
                f"/console/sandbox/chats/{other}",
                f"/console/sandbox/chats/{other}/messages",
            ):
                assert (await web.get(path, headers=HTML)).status_code == 404, path
            for action, form in (
                ("send", {"text": "hi"}),
                ("press", {"message_id": "1", "data": "x"}),
            ):
                sent = await post(web, f"/console/sandbox/chats/{other}/{action}", form)
                assert sent.status_code == 404, (other, action)
        made = await post(web, "/console/sandbox/coordinators", {"name": "Eve"})
        assert made.status_code == 403
    async with signed_in(engine, clock, "dee@example.org", sandbox_url=url) as web:
        listed = await web.get("/console/sandbox", headers=HTML)
        assert "Chat as" not in listed.text
        assert (await web.get(f"/console/sandbox/chats/{averys}", headers=HTML)).status_code == 404
        assert (
            await post(web, "/console/sandbox/coordinators", {"name": "Eve"})
        ).status_code == 403

    assert await telegram.messages(blakes) == []  # nothing was said as Blake
    async with sessions() as session:
        names = (await session.scalars(sa.select(col(StaffMember.name)))).all()
    assert sorted(names) == ["Avery", "Blake", "Sid"]  # no Eve


@pytest.mark.parametrize(
    "typed", ["\N{SUPERSCRIPT TWO}", "\N{ARABIC-INDIC DIGIT THREE}", "99999999999", "-1", "0", "x"]
)
async def test_numbers_that_are_not_message_ids_are_refused(
    typed: str,
    settings: Settings,
    engine: AsyncEngine,
    clock: Clock,
    telegram: SandboxClient,
) -> None:
    """Whatever is typed where a message or user id goes, the answer is a 4xx, never a 500."""
    async with session_factory(engine)() as session:
        member = StaffMember(name="Avery")
        session.add(member)
        await session.commit()
    assert member.id is not None
    user_id = STAFF_FROM + member.id
    await telegram.ensure_user(user_id, "Avery")
    await create(settings, "ana@example.org", "admin")
    async with signed_in(engine, clock, "ana@example.org", sandbox_url=telegram.base_url) as web:
        pressed = await act(
            web, f"/console/sandbox/chats/{user_id}/press", {"message_id": typed, "data": "x"}
        )
        assert pressed.status_code == 400 and pressed.json()["ok"] is False
        form = await post(
            web, f"/console/sandbox/chats/{user_id}/press", {"message_id": typed, "data": "x"}
        )
        assert form.headers["location"] == f"/console/sandbox/chats/{user_id}?problem=refused"
        for path in (
            f"/console/sandbox/chats/{quote(typed)}",
            f"/console/sandbox/chats/{quote(typed)}/messages",
        ):
            assert (await web.get(path, headers=HTML)).status_code in {404, 422}, path
