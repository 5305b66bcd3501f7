"""The console's template editor, over HTTP against the real app and database: browsing the
library, checking and previewing as an admin writes, drafts, publishing (and refusing to publish
a broken or unsafe text), the history with its changes, rolling back, who may do any of it, and
the bot's library picking up what was published."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import col

from service.audit.models import AuditEntry
from service.clients.models import Client, ClientState
from service.config import Settings
from service.content.editing import StaleEdit, publish
from service.content.models import Template, TemplateVersion
from service.content.rendering import Renderer
from service.content.service import Library
from service.staff.models import ConsoleUser
from tests.console import CSRF_FIELD, HTML, Clock, create, post, signed_in

ADMIN = "ana@example.org"
KEY = "affirmation-family-1"
GOOD = "You keep showing up for the people you love, {{ first_name }}, and it shows.\n"
BROKEN = {
    "{{ unknown_var }}": ("Variable", "unknown variable `unknown_var`"),
    "{% if first_name %}Hello {{ first_name }}": ("Syntax", "Jinja2 syntax"),
    "{{ first_name.__class__ }} hi": ("Unsafe", "attribute access"),
    "{% for letter in first_name %}{{ letter }}{% endfor %}": ("Unsafe", "loops"),
    "You are an addict, {{ first_name }}.": ("MI lint", "label"),
    "Your words matter, {{ first_name }}. " * 200: ("Telegram limit", "Telegram allows 4096"),
}
SCRIPT = "<script>alert(1)</script> Hello {{ first_name }}."


async def template_of(
    sessions: async_sessionmaker[AsyncSession], key: str = KEY, language: str = "en"
) -> Template:
    async with sessions() as session:
        template = await session.scalar(
            sa.select(Template).where(col(Template.key) == key, col(Template.language) == language)
        )
    assert template is not None and template.id is not None
    return template


async def versions_of(
    sessions: async_sessionmaker[AsyncSession], template_id: int
) -> list[TemplateVersion]:
    async with sessions() as session:
        rows = await session.scalars(
            sa.select(TemplateVersion)
            .where(col(TemplateVersion.template_id) == template_id)
            .order_by(col(TemplateVersion.version))
        )
        return list(rows)


async def audited(sessions: async_sessionmaker[AsyncSession], prefix: str) -> list[AuditEntry]:
    async with sessions() as session:
        rows = await session.scalars(
            sa.select(AuditEntry)
            .where(col(AuditEntry.action).startswith(prefix))
            .order_by(col(AuditEntry.id))
        )
        return list(rows)


async def editor_form(web: httpx.AsyncClient, template_id: int) -> dict[str, str]:
    """The editor's form fields as the page gives them."""
    page = await web.get(f"/console/templates/{template_id}", headers=HTML)
    assert page.status_code == 200, page.text
    token = CSRF_FIELD.search(page.text)
    base = re.search(r'name="base_version" value="(\d+)"', page.text)
    assert token is not None and base is not None
    return {"csrf_token": token.group(1), "base_version": base.group(1)}


async def send(
    web: httpx.AsyncClient, template_id: int, action: str, body: str, **more: str
) -> httpx.Response:
    form = await editor_form(web, template_id)
    return await web.post(
        f"/console/templates/{template_id}/{action}", data={**form, "body": body, **more}
    )


async def live_check(
    web: httpx.AsyncClient, template_id: int, body: str, **more: str
) -> httpx.Response:
    form = await editor_form(web, template_id)
    return await web.post(
        f"/console/templates/{template_id}/check?fragment=1",
        data={**form, "body": body, **more},
    )


def cells(page: str, row_id: str) -> str:
    found = re.search(rf'<tr id="{row_id}".*?</tr>', page, re.DOTALL)
    assert found is not None
    return found.group(0)


async def test_admins_browse_the_library_and_narrow_it_down(
    settings: Settings,
    engine: AsyncEngine,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await create(settings, ADMIN, "admin")
    async with sessions() as session:
        total = await session.scalar(sa.select(sa.func.count()).select_from(Template))
    async with signed_in(engine, clock, ADMIN) as web:
        started = time.perf_counter()
        everything = await web.get("/console/templates", headers=HTML)
        took = time.perf_counter() - started
        assert everything.status_code == 200
        assert everything.text.count('<a href="/console/templates/') == total
        assert f"{total} templates." in everything.text
        assert took < 2, f"listing {total} templates took {took:.2f}s"
        assert 'aria-current="page">Templates</a>' in everything.text

        spanish_milestones = await web.get(
            "/console/templates?category=milestone&language=es", headers=HTML
        )
        rows = re.findall(r"<tr>\s*<td class=\"key\">.*?</tr>", spanish_milestones.text, re.DOTALL)
        assert rows and all("<td>es</td>" in row and "<td>milestone</td>" in row for row in rows)
        assert '<option value="milestone" selected>' in spanish_milestones.text

        family = await web.get("/console/templates?value=family&q=AFFIRMATION", headers=HTML)
        keys = set(re.findall(r'<td class="key"><a [^>]+>([^<]+)</a>', family.text))
        assert KEY in keys and all(key.startswith("affirmation-") for key in keys)
        assert "affirmation-any-1" not in keys

        untagged = await web.get("/console/templates?value=any&q=affirmation-", headers=HTML)
        assert "affirmation-any-1" in untagged.text and KEY not in untagged.text

        nothing = await web.get("/console/templates?q=100%25_no", headers=HTML)
        assert "No template matches these filters." in nothing.text

        technique = await web.get("/console/templates?technique=summary", headers=HTML)
        assert technique.status_code == 200
        assert "<td>affirmation</td>" not in technique.text


async def test_the_editor_shows_the_text_its_findings_and_a_preview(
    settings: Settings,
    engine: AsyncEngine,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await create(settings, ADMIN, "admin")
    template = await template_of(sessions)
    (published,) = await versions_of(sessions, template.id or 0)
    async with signed_in(engine, clock, ADMIN) as web:
        page = await web.get(f"/console/templates/{template.id}", headers=HTML)
        assert page.status_code == 200
        text = page.text
        assert '<textarea id="body" name="body"' in text
        assert '<label for="body">Message (published version 1)</label>' in text
        assert '<div id="findings" aria-live="polite">' in text and 'id="preview"' in text
        assert "No problems found: this text can be published." in text
        assert "For a sample client, Alex (en, family)" in text
        first_line = published.body.split("{{")[0].strip()
        assert first_line.replace("'", "&#39;") in text
        for label in ("Check and preview", "Save draft", "Publish"):
            assert f">{label}</button>" in text
        assert "fetch(form.dataset.check" in text and "setTimeout(check, 300)" in text

        named = await web.get(
            f"/console/templates/{template.id}?sample_name=Sam&sample_language=es&sample_value=work",
            headers=HTML,
        )
        assert "For a sample client, Sam (es, work)" in named.text

        missing = await web.get("/console/templates/999999", headers=HTML)
        assert missing.status_code == 404
        assert "There is no message template with id 999999." in missing.text


async def test_the_live_check_finds_what_is_wrong_as_the_admin_types(
    settings: Settings,
    engine: AsyncEngine,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await create(settings, ADMIN, "admin")
    template = await template_of(sessions)
    async with signed_in(engine, clock, ADMIN) as web:
        for body, (kind, message) in BROKEN.items():
            checked = await live_check(web, template.id or 0, body)
            assert checked.status_code == 200
            assert checked.text.startswith('<div data-part="findings">'), checked.text[:80]
            assert f'<span class="badge">{kind}</span>' in checked.text, (body, checked.text)
            assert message in checked.text, body
            assert "to fix before this text can be published" in checked.text

        fine = await live_check(web, template.id or 0, GOOD, sample_name="Robin")
        assert "No problems found" in fine.text
        assert "You keep showing up for the people you love, Robin, and it shows." in fine.text

        # Without a script, the button posts the form for the whole page with the findings.
        form = await editor_form(web, template.id or 0)
        page = await web.post(
            f"/console/templates/{template.id}/check",
            data={**form, "body": "{{ unknown_var }}", "note": "trying"},
        )
        assert page.status_code == 200
        assert "<h1>" in page.text and "unknown variable" in page.text
        assert "{{ unknown_var }}</textarea>" in page.text
        assert 'value="trying"' in page.text
    assert len(await versions_of(sessions, template.id or 0)) == 1  # checking saves nothing


async def test_a_broken_or_unsafe_text_is_never_published(
    settings: Settings,
    engine: AsyncEngine,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await create(settings, ADMIN, "admin")
    template = await template_of(sessions)
    async with signed_in(engine, clock, ADMIN) as web:
        for body, (kind, _) in BROKEN.items():
            refused = await send(web, template.id or 0, "publish", body)
            assert refused.status_code == 422, body
            assert "Not published: the text has problems" in refused.text
            assert f'<span class="badge">{kind}</span>' in refused.text
        empty = await send(web, template.id or 0, "publish", "  \r\n ")
        assert empty.status_code == 422 and "The message is empty" in empty.text
    after = await template_of(sessions)
    assert after.published_version == 1
    assert len(await versions_of(sessions, template.id or 0)) == 1
    assert await audited(sessions, "console.template.") == []


async def test_a_draft_is_saved_then_published_and_the_bot_uses_it(
    settings: Settings,
    engine: AsyncEngine,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await create(settings, ADMIN, "admin")
    template = await template_of(sessions)
    assert template.id is not None
    library = Library()
    async with sessions() as session:
        await library.refresh(session)
    meta = next(m for m in library.metas if (m.id, m.language) == (KEY, "en"))
    seed_body = library.published(meta).source.body

    async with signed_in(engine, clock, ADMIN) as web:
        saved = await send(web, template.id, "draft", GOOD.replace("\n", "\r\n"), note="warmer")
        assert saved.status_code == 303
        assert saved.headers["location"] == f"/console/templates/{template.id}?done=draft&version=2"
        page = await web.get(saved.headers["location"], headers=HTML)
        assert "Draft saved as version 2." in page.text
        assert "Message (draft, version 2)" in page.text
        assert GOOD + "</textarea>" in page.text.replace("&#39;", "'")
        listed = await web.get("/console/templates?q=affirmation-family-1", headers=HTML)
        assert "draft, version 2" in listed.text and ADMIN in listed.text

        again = await send(web, template.id, "draft", GOOD)
        assert again.status_code == 409 and "nothing new to save" in again.text

        async with sessions() as session:
            await library.refresh(session)
        assert library.published(meta).source.body == seed_body  # a draft reaches nobody

        published = await send(web, template.id, "publish", GOOD)
        assert published.status_code == 303
        assert published.headers["location"].endswith("?done=published&version=2")
        shown = await web.get(published.headers["location"], headers=HTML)
        assert "Version 2 is published" in shown.text

        twice = await send(web, template.id, "publish", GOOD)
        assert twice.status_code == 409 and "published already" in twice.text

    async with sessions() as session:
        await library.refresh(session)
    assert library.published(meta).source.body == GOOD
    versions = await versions_of(sessions, template.id)
    assert [(v.version, v.body, v.note) for v in versions[1:]] == [(2, GOOD, "warmer")]
    async with sessions() as session:
        admin_id = await session.scalar(
            sa.select(col(ConsoleUser.id)).where(col(ConsoleUser.email) == ADMIN)
        )
    assert versions[1].created_by == admin_id
    entries = await audited(sessions, "console.template.")
    assert [(e.action, e.subject_id, e.detail, e.actor_id) for e in entries] == [
        ("console.template.draft_saved", str(template.id), {"version": 2}, admin_id),
        ("console.template.published", str(template.id), {"version": 2}, admin_id),
    ]


async def test_publishing_in_one_step_and_a_stale_editor_is_refused(
    settings: Settings,
    engine: AsyncEngine,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await create(settings, ADMIN, "admin")
    await create(settings, "bo@example.org", "admin")
    template = await template_of(sessions)
    assert template.id is not None
    async with (
        signed_in(engine, clock, ADMIN) as ana,
        signed_in(engine, clock, "bo@example.org") as bo,
    ):
        anas = await editor_form(ana, template.id)
        bos = await editor_form(bo, template.id)
        first = await ana.post(
            f"/console/templates/{template.id}/publish", data={**anas, "body": GOOD}
        )
        assert first.status_code == 303
        late = await bo.post(
            f"/console/templates/{template.id}/draft",
            data={**bos, "body": "Bo's words, {{ first_name }}.\n"},
        )
        assert late.status_code == 409
        assert "Someone else saved version 2" in late.text.replace("&#39;", "'")
        assert "Bo&#39;s words, {{ first_name }}.\n</textarea>" in late.text  # kept for Bo
    versions = await versions_of(sessions, template.id)
    assert [v.version for v in versions] == [1, 2]
    assert (await template_of(sessions)).published_version == 2


async def test_two_admins_publishing_at_once_take_turns(
    settings: Settings, clock: Clock, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await create(settings, ADMIN, "admin")
    template = await template_of(sessions)
    assert template.id is not None
    async with sessions() as session:
        admin_id = await session.scalar(
            sa.select(col(ConsoleUser.id)).where(col(ConsoleUser.email) == ADMIN)
        )
    assert admin_id is not None

    async def publishing(text: str) -> int | str:
        async with sessions() as session:
            try:
                number = await publish(
                    session,
                    template.id or 0,
                    text,
                    "",
                    base=1,
                    author=admin_id,
                    now=clock(),
                    renderer=Renderer(),
                )
            except StaleEdit:
                return "stale"
            await asyncio.sleep(0.05)  # the row stays locked while the other one waits
            await session.commit()
            return number

    results = await asyncio.gather(
        publishing(GOOD), publishing("Your people notice you, {{ first_name }}.\n")
    )
    assert sorted(map(str, results)) == ["2", "stale"]
    assert [v.version for v in await versions_of(sessions, template.id)] == [1, 2]
    assert (await template_of(sessions)).published_version == 2


async def test_the_history_shows_who_changed_what_and_one_click_rolls_back(
    settings: Settings,
    engine: AsyncEngine,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await create(settings, ADMIN, "admin")
    template = await template_of(sessions, "affirmation-any-1")
    assert template.id is not None
    (seed,) = await versions_of(sessions, template.id)
    edited = seed.body.replace("on good days and hard ones", "on easy days and hard ones")
    async with signed_in(engine, clock, ADMIN) as web:
        published = await send(web, template.id, "publish", edited, note="a softer word")
        assert published.status_code == 303
        broken = await send(web, template.id, "draft", "{{ unknown_var }}")
        assert broken.status_code == 303  # a draft may be broken: nobody receives it

        history = await web.get(f"/console/templates/{template.id}/history", headers=HTML)
        assert history.status_code == 200
        version_2 = cells(history.text, "version-2")
        assert "a softer word" in version_2 and ADMIN in version_2 and "published" in version_2
        assert "seed library" in cells(history.text, "version-1")
        assert "draft" in cells(history.text, "version-3")
        assert ">Roll back to version 1</button>" in history.text
        assert "Roll back to version 2" not in history.text  # the published one
        assert "Roll back to version 3" not in history.text  # a draft: published from the editor

        changes = await web.get(f"/console/templates/{template.id}/history?version=2", headers=HTML)
        assert "Changes in version 2 since version 1" in changes.text
        diff = re.search(r'<pre class="diff" id="diff">(.*?)</pre>', changes.text, re.DOTALL)
        assert diff is not None
        assert re.search(r"<del><span[^>]*>\[removed: </span>good<span", diff.group(1))
        assert re.search(r"<ins><span[^>]*>\[added: </span>easy<span", diff.group(1))
        assert "days and hard ones" in diff.group(1)

        rolled = await post(web, f"/console/templates/{template.id}/rollback", {"version": "1"})
        assert rolled.status_code == 303
        after = await web.get(rolled.headers["location"], headers=HTML)
        assert "Version 4, a copy of version 1, is published" in after.text
        assert "Rolled back to version 1" in cells(after.text, "version-4")

        refused = await post(web, f"/console/templates/{template.id}/rollback", {"version": "3"})
        assert refused.status_code == 422
        assert "Version 3 was not published again" in refused.text
        assert "unknown variable" in refused.text

        unknown = await post(web, f"/console/templates/{template.id}/rollback", {"version": "9"})
        assert unknown.status_code == 404

    versions = await versions_of(sessions, template.id)
    assert [v.version for v in versions] == [1, 2, 3, 4]
    assert versions[3].body == seed.body
    assert (await template_of(sessions, "affirmation-any-1")).published_version == 4
    entries = await audited(sessions, "console.template.")
    assert [(e.action, e.detail) for e in entries] == [
        ("console.template.published", {"version": 2}),
        ("console.template.draft_saved", {"version": 3}),
        ("console.template.rolled_back", {"version": 4, "from_version": 1}),
    ]


async def test_a_preview_for_a_real_client_uses_their_words_and_is_audited(
    settings: Settings,
    engine: AsyncEngine,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await create(settings, ADMIN, "admin")
    template = await template_of(sessions, "values_reflection-family-3")
    async with sessions() as session:
        client = Client(
            code="PRV001",
            first_name="<img src=x onerror=alert(1)>Maya",
            timezone="America/Chicago",
            values=["work", "family"],
            reasons={"family": "my kids & me"},
            discharge_date=date(2026, 11, 1),
            sobriety_date=date(2026, 11, 1),
        )
        erased = Client(code="GONE01", first_name="-", timezone="UTC", state=ClientState.erased)
        session.add_all([client, erased])
        await session.commit()
    async with signed_in(engine, clock, ADMIN) as web:
        page = await web.get(
            f"/console/templates/{template.id}?client_id={client.id}", headers=HTML
        )
        assert page.status_code == 200
        assert "For client PRV001" in page.text
        shown = re.search(r'<div class="message" id="preview-text">(.*?)</div>', page.text, re.S)
        assert shown is not None
        assert "&lt;img src=x onerror=alert(1)&gt;Maya" in shown.group(1)
        assert "my kids &amp; me" in shown.group(1)  # as the client will read it
        assert "<img src=x" not in page.text

        live = await live_check(web, template.id or 0, GOOD, client_id=str(erased.id))
        assert f"There is no client with id {erased.id}." in live.text
        typo = await live_check(web, template.id or 0, GOOD, client_id="12a")
        assert "A client id is a number" in typo.text

        # The live check follows the typing: it shows the client but records nothing more
        # than the page that asked for it did.
        for _ in range(3):
            typing = await live_check(web, template.id or 0, GOOD, client_id=str(client.id))
            assert "For client PRV001" in typing.text
        assert len(await audited(sessions, "console.client.previewed")) == 1

        # Without a script, "Check and preview" shows a whole page: that view is recorded.
        form = await editor_form(web, template.id or 0)
        page = await web.post(
            f"/console/templates/{template.id}/check",
            data={**form, "body": GOOD, "client_id": str(client.id)},
        )
        assert page.status_code == 200 and "For client PRV001" in page.text
    entries = await audited(sessions, "console.client.previewed")
    assert [(e.subject_type, e.subject_id, e.detail) for e in entries] == [
        ("client", str(client.id), {"template_id": template.id})
    ] * 2


@pytest.mark.parametrize(
    ("timezone", "utc", "days"),
    [
        # 03:00 UTC on the 27th is 21:00 on the 26th in Chicago: 25 days since the 1st there.
        ("America/Chicago", datetime(2026, 11, 27, 3, 0, tzinfo=UTC), 25),
        # 16:00 UTC on the 26th is 01:00 on the 27th in Tokyo: 26 days there.
        ("Asia/Tokyo", datetime(2026, 11, 26, 16, 0, tzinfo=UTC), 26),
    ],
)
async def test_a_real_clients_preview_counts_days_on_their_own_calendar(
    settings: Settings,
    engine: AsyncEngine,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
    *,
    timezone: str,
    utc: datetime,
    days: int,
) -> None:
    await create(settings, ADMIN, "admin")
    template = await template_of(sessions)
    async with sessions() as session:
        client = Client(
            code="TZN001",
            first_name="Noor",
            timezone=timezone,
            values=["family"],
            discharge_date=date(2026, 11, 1),
            sobriety_date=date(2026, 11, 1),
        )
        session.add(client)
        await session.commit()
    clock.now = utc
    body = "Day {{ days_sober }} for {{ first_name }}."
    async with signed_in(engine, clock, ADMIN) as web:
        live = await live_check(web, template.id or 0, body, client_id=str(client.id))
        form = await editor_form(web, template.id or 0)
        page = await web.post(
            f"/console/templates/{template.id}/check",
            data={**form, "body": body, "client_id": str(client.id)},
        )
    for answer in (live, page):
        shown = re.search(r'id="preview-text">(.*?)</div>', answer.text, re.S)
        assert shown is not None and shown.group(1) == f"Day {days} for Noor.", answer.text


ODD_NUMBERS = ["²", "99999999999", "0", "-1", "1e3", " 7 ", "٣"]


@pytest.mark.parametrize(
    ("method", "address", "status"),
    [
        ("GET", "/console/templates/99999999999", 422),
        ("GET", "/console/templates/0", 422),
        ("GET", "/console/templates/99999999999/history", 422),
        ("POST", "/console/templates/99999999999/check", 422),
        ("POST", "/console/templates/99999999999/check?fragment=1", 422),
        ("POST", "/console/templates/99999999999/draft", 422),
        ("POST", "/console/templates/99999999999/publish", 422),
        ("POST", "/console/templates/99999999999/rollback", 422),
        ("GET", "/console/templates/2147483647", 404),
        ("POST", "/console/templates/2147483647/draft", 404),
        ("POST", "/console/templates/2147483647/rollback", 404),
    ],
)
async def test_an_address_past_the_ids_there_can_be_is_never_a_server_error(
    settings: Settings,
    engine: AsyncEngine,
    clock: Clock,
    *,
    method: str,
    address: str,
    status: int,
) -> None:
    await create(settings, ADMIN, "admin")
    async with signed_in(engine, clock, ADMIN) as web:
        if method == "GET":
            answer = await web.get(address, headers=HTML)
        else:
            answer = await post(web, address, {"body": GOOD, "version": "1", "base_version": "1"})
    assert answer.status_code == status, answer.text[:200]
    if status == 404:
        assert "There is no message template with id 2147483647." in answer.text


@pytest.mark.parametrize("odd", ODD_NUMBERS)
async def test_odd_numbers_in_a_query_or_a_form_are_never_a_server_error(
    settings: Settings,
    engine: AsyncEngine,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
    odd: str,
) -> None:
    await create(settings, ADMIN, "admin")
    template = await template_of(sessions)
    base = f"/console/templates/{template.id}"
    async with signed_in(engine, clock, ADMIN) as web:
        for query in (
            f"?client_id={odd}",
            f"?sample_days={odd}",
            f"?done=published&version={odd}",
            f"?done=rolled_back&version=2&source={odd}",
            f"/history?version={odd}",
            f"/history?done=rolled_back&version={odd}&source={odd}",
        ):
            page = await web.get(base + query, headers=HTML)
            assert page.status_code == 200, (query, page.text[:200])
            assert "version None" not in page.text, query
        client = await web.get(f"{base}?client_id={odd}", headers=HTML)
        if odd.strip() != "7":
            assert "A client id is a number" in client.text
        form = await editor_form(web, template.id or 0)
        for fields in (
            {"client_id": odd},
            {"sample_days": odd},
            {"base_version": odd},
        ):
            for action in ("check?fragment=1", "check", "draft", "publish"):
                answer = await web.post(f"{base}/{action}", data={**form, "body": GOOD, **fields})
                assert answer.status_code < 500, (action, fields, answer.text[:200])
        rollback = await post(web, f"{base}/rollback", {"version": odd})
        assert rollback.status_code == 404, rollback.text[:200]


async def test_publishing_a_saved_draft_keeps_its_note_and_adds_a_new_one(
    settings: Settings,
    engine: AsyncEngine,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await create(settings, ADMIN, "admin")
    kept = await template_of(sessions)
    added = await template_of(sessions, "affirmation-any-1")
    assert kept.id is not None and added.id is not None
    other = "Your people notice you, {{ first_name }}.\n"
    async with signed_in(engine, clock, ADMIN) as web:
        for template_id, body in ((kept.id, GOOD), (added.id, other)):
            saved = await send(web, template_id, "draft", body, note="warmer")
            assert saved.status_code == 303
        # The editor's note field starts empty: publishing the draft as it is keeps its note.
        assert (await send(web, kept.id, "publish", GOOD)).status_code == 303
        published = await send(web, added.id, "publish", other, note="checked with the team")
        assert published.status_code == 303
        assert published.headers["location"].endswith("?done=published&version=2")
    [(_, kept_note)] = [(v.version, v.note) for v in await versions_of(sessions, kept.id)][1:]
    assert kept_note == "warmer"
    [(number, note)] = [(v.version, v.note) for v in await versions_of(sessions, added.id)][1:]
    assert (number, note) == (2, "warmer\nchecked with the team")
    assert (await template_of(sessions, "affirmation-any-1")).published_version == 2


async def test_a_form_without_the_version_it_was_written_from_is_refused(
    settings: Settings,
    engine: AsyncEngine,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await create(settings, ADMIN, "admin")
    template = await template_of(sessions)
    base = f"/console/templates/{template.id}"
    async with signed_in(engine, clock, ADMIN) as web:
        for action in ("draft", "publish"):
            for missing in ({}, {"base_version": ""}, {"base_version": "x"}):
                refused = await post(web, f"{base}/{action}", {"body": GOOD, **missing})
                assert refused.status_code == 409, (action, missing)
                assert "did not say which version it was edited from" in refused.text
                # The page given back has the version to save from, and the text kept.
                assert 'name="base_version" value="1"' in refused.text
                assert GOOD + "</textarea>" in refused.text.replace("&#39;", "'")
    assert len(await versions_of(sessions, template.id or 0)) == 1
    assert (await template_of(sessions)).published_version == 1


async def test_markup_in_a_template_is_shown_as_text_everywhere(
    settings: Settings,
    engine: AsyncEngine,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await create(settings, ADMIN, "admin")
    template = await template_of(sessions)
    assert template.id is not None
    async with signed_in(engine, clock, ADMIN) as web:
        saved = await send(web, template.id, "draft", SCRIPT, note="<script>alert(2)</script>")
        assert saved.status_code == 303
        refused = await send(web, template.id, "publish", SCRIPT)
        assert refused.status_code == 422
        assert "Telegram does not support the tag &lt;script&gt;" in refused.text
        pages = {
            "editor": await web.get(f"/console/templates/{template.id}", headers=HTML),
            "preview": await live_check(web, template.id, SCRIPT),
            "history": await web.get(f"/console/templates/{template.id}/history", headers=HTML),
            "refused": refused,
        }
        for name, page in pages.items():
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text, name
            assert "<script>alert(" not in page.text, name
        assert 'id="preview-source">&lt;script&gt;alert(1)' in pages["preview"].text


async def test_only_admins_may_edit_and_every_change_needs_the_form_token(
    settings: Settings,
    engine: AsyncEngine,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await create(settings, ADMIN, "admin")
    await create(settings, "vic@example.org", "viewer")
    await create(settings, "cole@example.org", "coordinator")
    template = await template_of(sessions)
    base = f"/console/templates/{template.id}"
    for email in ("vic@example.org", "cole@example.org"):
        async with signed_in(engine, clock, email) as web:
            for path in ("/console/templates", base, f"{base}/history"):
                page = await web.get(path, headers=HTML)
                assert page.status_code == 403, (email, path)
                assert "Your role does not give access to this page." in page.text
            form: dict[str, Any] = {"body": GOOD, "version": "1", "base_version": "1"}
            for action in ("check", "draft", "publish", "rollback"):
                refused = await post(web, f"{base}/{action}", form)
                assert refused.status_code == 403, (email, action)
            home = await web.get("/console", headers=HTML)
            assert 'href="/console/templates"' not in home.text
    async with signed_in(engine, clock, ADMIN) as web:
        for action in ("check", "draft", "publish", "rollback"):
            forged = await web.post(
                f"{base}/{action}", data={"body": GOOD, "version": "1", "csrf_token": "forged"}
            )
            assert forged.status_code == 403, action
            assert "did not come from the console" in forged.text
    assert len(await versions_of(sessions, template.id or 0)) == 1
    assert await audited(sessions, "console.template.") == []
