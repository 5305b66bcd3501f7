"""The console in a real browser: Debian's Chromium, headless, driven by Playwright against the
app served by uvicorn on a local port and this test's database. An admin edits, publishes and
rolls back a template while the live preview follows the typing; a coordinator acknowledges an
alert; a client's hostile words stay text on every page; a viewer is kept out of the templates.

With ``AFTERCARE_SCREENSHOTS=docs/screenshots`` (``make screenshots``) the same tests write the
pictures of docs/console.md, which is why the data they make looks like a real caseload.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from playwright.async_api import Browser, Dialog, Page, ViewportSize, async_playwright, expect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import col

from service.alerts.models import Alert, AlertEvent, AlertEventKind, AlertStatus
from service.alerts.service import REASONS
from service.checkins.models import Checkin, CheckinKind, CheckinStatus
from service.checkins.programs import standard_program_id
from service.clients.models import Client, ClientState
from service.config import Settings
from service.content.models import Template, TemplateVersion
from service.conversations.models import InboundKind, InboundMessage
from service.outbox.models import Lane, OutboxMessage, OutboxStatus
from service.runtime import Services
from service.signals.models import Severity, Signal, SignalKind
from service.staff.models import ConsoleUser, StaffMember, StaffRole
from service.web.console import ConsoleConfig
from tests.browser import CHROMIUM, CHROMIUM_ARGS, console_served, sign_in, snapshot
from tests.console import START, Clock, create
from tests.team import history

DESKTOP = ViewportSize(width=1280, height=800)
PHONE = ViewportSize(width=390, height=844)
HOSTILE = "<script>window.__pwned = 1</script>"
HOSTILE_NAME = "<b>x</b>"
NOW = datetime(2026, 11, 26, 16, 0, tzinfo=UTC)  # late morning in the Americas
KEY = "affirmation-any-1"  # its seed text says "on good days and hard ones"


@pytest.fixture(scope="session")
async def chromium() -> AsyncIterator[Browser]:
    """One headless Chromium for the whole run; each test opens its own context (cookies)."""
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's chromium package")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        await browser.close()


@asynccontextmanager
async def opened(
    chromium: Browser, engine: AsyncEngine, clock: Clock, *, sandbox_url: str | None = None
) -> AsyncIterator[Page]:
    """A fresh browser tab on the served console. Any dialog (``alert(1)`` from a page that let
    markup through) or script error on any page fails the test."""
    problems: list[str] = []

    async def on_dialog(dialog: Dialog) -> None:
        problems.append(f"a {dialog.type} dialog opened: {dialog.message!r}")
        await dialog.dismiss()

    config = ConsoleConfig(clock=clock)
    async with console_served(engine, config, sandbox_url=sandbox_url) as base_url:
        context = await chromium.new_context(
            base_url=base_url, viewport=DESKTOP, color_scheme="light", locale="en-US"
        )
        context.set_default_timeout(5_000)
        page = await context.new_page()
        page.on("dialog", on_dialog)
        page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
        try:
            yield page
        finally:
            await context.close()
    assert problems == []


# A caseload that looks like one: three on the care team, a dozen alumni at different points
# since discharge, a few weeks of check-ins, and alerts of each severity.


@dataclass
class World:
    staff: dict[str, int] = field(default_factory=dict)
    clients: dict[str, int] = field(default_factory=dict)
    alerts: dict[str, int] = field(default_factory=dict)


# first name, code, coordinator, state, days since discharge, time zone
PEOPLE = [
    ("Maya", "MA7K2Q", "Dana", ClientState.active, 12, "America/New_York"),
    ("Jordan", "JR4M8T", "Dana", ClientState.active, 41, "America/Chicago"),
    ("Priya", "PR9D3X", "Dana", ClientState.paused, 63, "America/New_York"),
    ("Aisha", "AI2V6N", "Dana", ClientState.active, 120, "America/Denver"),
    ("Luis", "LU5H7R", "Lee", ClientState.active, 8, "America/Los_Angeles"),
    ("Grace", "GR3T9B", "Lee", ClientState.active, 27, "America/New_York"),
    ("Tomás", "TO6C4W", "Lee", ClientState.onboarding, 3, "America/Chicago"),
    ("Noah", "NO8F2L", "Lee", ClientState.opted_out, 95, "America/New_York"),
    ("Emma", "EM4P7Z", None, ClientState.active, 19, "America/Phoenix"),
    ("Sofia", "SO2J5K", None, ClientState.invited, 1, "America/New_York"),
]
# what each of them last wrote (Maya's morning is written by maya_wrote)
REPLIES = {
    "Jordan": "Went to my meeting last night. 41 days today.",
    "Priya": "Taking a few days at my mom's, talk next week.",
    "Aisha": "ok",
    "Luis": "8 days. Hard but ok.",
    "Grace": "Work was stressful but I called my sponsor instead of going out.",
    "Noah": "Thanks for everything, I'm going to stop these for now.",
    "Emma": "Better today. Slept through the night for once.",
}


def checkins(client: int, discharged: date, number: int) -> list[Checkin]:
    """Daily for two weeks after discharge, every third day to day 60, then weekly; fewer
    answered as the weeks go by, as in life."""
    made = []
    day = 1
    while discharged + timedelta(days=day) < NOW.date():
        on = discharged + timedelta(days=day)
        sent = datetime(on.year, on.month, on.day, 14, tzinfo=UTC) + timedelta(minutes=number * 11)
        missed = (day * 7 + number * 3) % 10 < 2 + day // 21
        made.append(
            Checkin(
                client_id=client,
                kind=CheckinKind.scale if day % 2 else CheckinKind.open_question,
                status=CheckinStatus.missed if missed else CheckinStatus.answered,
                local_date=on,
                scheduled_for=sent,
                sent_at=sent,
                answered_at=None if missed else sent + timedelta(minutes=40 + day % 5 * 17),
                answers={} if missed or day % 2 == 0 else {"mood": 4 + day % 5, "craving": 3},
                created_at=sent - timedelta(minutes=5),
            )
        )
        day += 1 if day < 14 else 3 if day < 60 else 7
    return made


async def world(sessions: async_sessionmaker[AsyncSession], clock: Clock) -> World:
    """The caseload, as it stands at NOW (the console's clock is set to it)."""
    clock.now = NOW
    made = World()
    async with sessions() as session:
        program = await standard_program_id(session)
        team = {
            "Dana": StaffMember(name="Dana Whitfield", telegram_user_id=701, telegram_chat_id=701),
            "Lee": StaffMember(name="Lee Okafor", telegram_user_id=702, telegram_chat_id=702),
            "Sam": StaffMember(
                name="Sam Rivera",
                role=StaffRole.supervisor,
                telegram_user_id=703,
                telegram_chat_id=703,
                on_call=True,
            ),
            "Robin": StaffMember(name="Robin Hale"),
        }
        session.add_all(team.values())
        await session.flush()
        made.staff = {name: member.id or 0 for name, member in team.items()}
        for number, (name, code, coordinator, state, days, zone) in enumerate(PEOPLE):
            linked = state is not ClientState.invited
            client = Client(
                code=code,
                first_name=name,
                state=state,
                timezone=zone,
                coordinator_id=made.staff[coordinator] if coordinator else None,
                discharge_date=NOW.date() - timedelta(days=days),
                program_id=program,
                telegram_user_id=5100 + number if linked else None,
                telegram_chat_id=5100 + number if linked else None,
                values=["work", "faith"] if number % 2 else ["family", "health"],
                reasons={"family": "to be there for my daughter"} if name == "Maya" else {},
                next_checkin_at=NOW + timedelta(hours=22, minutes=number * 11)
                if state is ClientState.active
                else None,
                paused_until=NOW + timedelta(days=5) if state is ClientState.paused else None,
                created_at=NOW - timedelta(days=days + 2),
            )
            session.add(client)
            await session.flush()
            made.clients[name] = client.id or 0
            if linked and state is not ClientState.onboarding:
                touches = checkins(made.clients[name], NOW.date() - timedelta(days=days), number)
                session.add_all(touches)
                answered = [touch.answered_at for touch in touches if touch.answered_at]
                if name in REPLIES and answered:
                    session.add(
                        InboundMessage(
                            update_id=880_100 + number,
                            client_id=client.id,
                            chat_id=client.telegram_chat_id,
                            kind=InboundKind.text,
                            text=REPLIES[name],
                            received_at=answered[-1],
                        )
                    )
        await session.flush()

        def alert(
            who: str,
            kind: SignalKind,
            severity: Severity,
            minutes_ago: int,
            *,
            status: AlertStatus = AlertStatus.open,
            acknowledged_after: int = 0,
        ) -> Alert:
            opened = NOW - timedelta(minutes=minutes_ago)
            coordinator = next(person[2] for person in PEOPLE if person[0] == who)
            # the default ladder's first step: the supervisors, 5 min (critical) or 1 h (high)
            first_step = {Severity.critical: 5, Severity.high: 60}.get(severity)
            climbing = status is AlertStatus.open and first_step is not None
            return Alert(
                client_id=made.clients[who],
                kind=kind,
                severity=severity,
                status=status,
                summary=REASONS["en"][kind],
                assigned_staff_id=team[coordinator].id if coordinator else None,
                opened_at=opened,
                escalation_started_at=opened,
                next_escalation_at=opened + timedelta(minutes=first_step or 0)
                if climbing
                else None,
                acknowledged_at=opened + timedelta(minutes=acknowledged_after)
                if acknowledged_after
                else None,
                resolved_at=opened + timedelta(hours=3) if status is AlertStatus.resolved else None,
            )

        plan = {
            "Maya": alert("Maya", SignalKind.craving, Severity.high, 25),
            "Luis": alert("Luis", SignalKind.self_harm, Severity.critical, 4),
            "Jordan": alert(
                "Jordan",
                SignalKind.relapse,
                Severity.medium,
                300,
                status=AlertStatus.acknowledged,
                acknowledged_after=18,
            ),
            "Aisha": alert("Aisha", SignalKind.silence, Severity.low, 1500),
            "Emma": alert("Emma", SignalKind.help_request, Severity.high, 95),
        }
        # Resolved ones over the last weeks, for the engagement page's times to acknowledge.
        resolved = [
            alert(
                who, kind, severity, minutes, status=AlertStatus.resolved, acknowledged_after=after
            )
            for who, kind, severity, minutes, after in [
                ("Grace", SignalKind.craving, Severity.high, 9 * 1440, 12),
                ("Jordan", SignalKind.low_scale, Severity.medium, 16 * 1440, 47),
                ("Priya", SignalKind.relapse, Severity.high, 23 * 1440, 9),
                ("Luis", SignalKind.sos, Severity.critical, 3 * 1440, 2),
                ("Aisha", SignalKind.silence, Severity.low, 30 * 1440, 180),
                ("Noah", SignalKind.sustain_talk, Severity.medium, 40 * 1440, 65),
            ]
        ]
        session.add_all([*plan.values(), *resolved])
        await session.flush()
        made.alerts = {who: planned.id or 0 for who, planned in plan.items()}
        for planned in [*plan.values(), *resolved]:
            session.add(
                AlertEvent(
                    alert_id=planned.id or 0,
                    kind=AlertEventKind.opened,
                    detail={"kind": planned.kind.value, "severity": planned.severity.value},
                    created_at=planned.opened_at,
                )
            )
        await session.commit()
    await maya_wrote(sessions, made)
    return made


async def maya_wrote(sessions: async_sessionmaker[AsyncSession], made: World) -> None:
    """Maya's morning: the bot's check-in, her answer, the signal it raised and its alert."""
    maya, alert_id = made.clients["Maya"], made.alerts["Maya"]
    opened = NOW - timedelta(minutes=25)
    async with sessions() as session:
        session.add(
            OutboxMessage(
                chat_id=5100,
                client_id=maya,
                lane=Lane.scheduled,
                status=OutboxStatus.sent,
                payload={
                    "text": "Good morning, Maya. How are you doing today, really?",
                    "parse_mode": "HTML",
                },
                created_at=opened - timedelta(minutes=50),
                sent_at=opened - timedelta(minutes=50),
            )
        )
        words = (
            "Rough night. After the argument with my brother I really wanted a drink, "
            "I drove past the liquor store twice."
        )
        message = InboundMessage(
            update_id=880001,
            client_id=maya,
            chat_id=5100,
            telegram_user_id=5100,
            kind=InboundKind.text,
            text=words,
            received_at=opened,
        )
        session.add(message)
        await session.flush()
        signal = Signal(
            client_id=maya,
            inbound_message_id=message.id,
            kind=SignalKind.craving,
            severity=Severity.high,
            evidence={"words": "really wanted a drink"},
            created_at=opened,
        )
        session.add(signal)
        await session.flush()
        await session.execute(
            sa.update(AlertEvent)
            .where(col(AlertEvent.alert_id) == alert_id)
            .values(signal_id=signal.id)
        )
        session.add(
            OutboxMessage(
                chat_id=5100,
                client_id=maya,
                lane=Lane.reply,
                status=OutboxStatus.sent,
                payload={
                    "text": "Thank you for telling me, Maya. Driving past and not stopping took "
                    "strength. Dana from your care team will reach out today."
                },
                created_at=opened + timedelta(seconds=2),
                sent_at=opened + timedelta(seconds=3),
            )
        )
        await session.commit()


async def template_of(sessions: async_sessionmaker[AsyncSession], key: str = KEY) -> Template:
    async with sessions() as session:
        found = await session.scalar(
            sa.select(Template).where(col(Template.key) == key, col(Template.language) == "en")
        )
    assert found is not None and found.id is not None
    return found


async def bodies(sessions: async_sessionmaker[AsyncSession], template_id: int) -> list[str]:
    async with sessions() as session:
        rows = await session.scalars(
            sa.select(col(TemplateVersion.body))
            .where(col(TemplateVersion.template_id) == template_id)
            .order_by(col(TemplateVersion.version))
        )
        return list(rows)


async def an_admins_first_look(page: Page) -> None:
    """Sign in, and the pages an admin sees before editing anything (pictured for the docs)."""
    await page.goto("/login")
    await page.get_by_label("Email").fill("ana@example.org")
    await snapshot(page, "login")
    await sign_in(page, "ana@example.org")
    await expect(page.get_by_role("heading", name="Console", exact=True)).to_be_visible()
    await snapshot(page, "home")
    await page.get_by_role("link", name="Team", exact=True).click()
    await expect(page.locator("#staff")).to_contain_text("Sam Rivera")
    await snapshot(page, "team")
    await page.get_by_role("link", name="Engagement", exact=True).click()
    await expect(page.locator("#response-chart")).to_be_visible()
    await expect(page.locator("#states")).to_be_visible()
    await snapshot(page, "engagement")


async def find_in_the_library(page: Page) -> None:
    """Templates, narrowed down with the filters to the English affirmations for any value."""
    await page.get_by_role("link", name="Templates", exact=True).click()
    await page.get_by_label("Key contains").fill("affirmation-any")
    await page.get_by_label("Category").select_option("affirmation")
    await page.get_by_label("Language").select_option("en")
    await page.get_by_role("button", name="Filter").click()
    await page.wait_for_url("**/console/templates?*q=affirmation-any*")
    keys = await page.locator("#templates td.key").all_inner_texts()
    assert len(keys) > 1 and all(key.startswith("affirmation-any-") for key in keys), keys
    await snapshot(page, "templates")


async def fits_a_phone(page: Page, shot: str | None = None) -> None:
    """At a phone's width the page does not scroll sideways (and is photographed as ``shot``)."""
    await page.set_viewport_size(PHONE)
    wide, seen = await page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert wide <= seen, f"{page.url} scrolls sideways on a phone"
    if shot:
        await snapshot(page, shot)
    await page.set_viewport_size(DESKTOP)


async def test_an_admin_edits_publishes_and_rolls_back_a_template(
    chromium: Browser,
    settings: Settings,
    engine: AsyncEngine,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await world(sessions, clock)
    await create(settings, "ana@example.org", "admin")
    template = await template_of(sessions)
    [seed] = await bodies(sessions, template.id or 0)
    edited = (
        "Answering these messages, on easy days and hard ones, is part of the work, "
        "{{ first_name }}, and you keep doing it."
    )
    async with opened(chromium, engine, clock) as page:
        await an_admins_first_look(page)
        await find_in_the_library(page)
        await page.get_by_role("link", name=KEY, exact=True).click()
        await page.wait_for_url(f"**/console/templates/{template.id}")
        body, preview = page.locator("#body"), page.locator("#preview-text")
        findings = page.locator("#findings")
        await expect(preview).to_contain_text("on good days and hard ones")
        checks: list[str] = []
        page.on("request", lambda r: checks.append(r.url) if "/check?fragment=1" in r.url else None)

        # Live: the preview follows the typing, with no button pressed and no page load.
        await body.fill(edited)
        await expect(preview).to_contain_text(
            "on easy days and hard ones, is part of the work, Alex"
        )
        await expect(findings).to_contain_text("No problems found")
        await body.press("End")
        await body.press_sequentially(" See you tomorrow, {{ firstname }}.")
        await expect(findings).to_contain_text("unknown variable `firstname`")
        await expect(findings.locator("li.finding")).to_have_count(1)
        assert checks and page.url.endswith(f"/console/templates/{template.id}")
        await page.get_by_label("Note for the history").fill("“easy days” reads warmer")
        await snapshot(page, "template-editor")

        await body.fill(edited)
        await expect(findings).to_contain_text("No problems found")
        await expect(preview).not_to_contain_text("tomorrow")
        await page.get_by_role("button", name="Save draft").click()
        await expect(page.locator("#notice")).to_contain_text("Draft saved as version 2.")
        await expect(body).to_have_value(edited + "\n")
        await page.get_by_role("button", name="Publish").click()
        await expect(page.locator("#notice")).to_contain_text("Version 2 is published")
        assert (await template_of(sessions)).published_version == 2

        await page.locator("#history-link").click()
        await page.get_by_role("link", name="Changes in version 2").click()
        diff = page.locator("#diff")
        await expect(diff.locator("del")).to_contain_text("good")
        await expect(diff.locator("ins")).to_contain_text("easy")
        await expect(page.locator("#version-2")).to_contain_text("ana@example.org")
        await snapshot(page, "template-history")

        await page.get_by_role("button", name="Roll back to version 1").click()
        await expect(page.locator("#notice")).to_contain_text("Version 3, a copy of version 1")
        await expect(page.locator("#version-3")).to_contain_text("published")
        await page.get_by_role("link", name=f"{KEY} (en)").click()
        await expect(preview).to_contain_text("on good days and hard ones")
        assert (await body.input_value()).strip() == seed.strip()
    assert (await template_of(sessions)).published_version == 3
    assert await bodies(sessions, template.id or 0) == [seed, edited + "\n", seed]


async def test_a_coordinator_acknowledges_an_alert_and_reads_the_clients_page(
    chromium: Browser,
    settings: Settings,
    engine: AsyncEngine,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    made = await world(sessions, clock)
    await create(settings, "dana@example.org", "coordinator", staff=made.staff["Dana"])
    maya = made.alerts["Maya"]
    async with opened(chromium, engine, clock) as page:
        await sign_in(page, "dana@example.org")
        await page.get_by_role("link", name="Alerts", exact=True).click()
        rows = page.locator("#alerts tbody tr")
        # Dana's clients only, the most severe first: Emma's and Luis's are not hers.
        assert await rows.evaluate_all("rows => rows.map(row => row.id)") == [
            f"alert-{made.alerts[who]}" for who in ("Maya", "Jordan", "Aisha")
        ]
        await snapshot(page, "alerts")

        await page.locator(f"#alert-{maya}").get_by_role("link", name="strong craving").click()
        await page.wait_for_url(f"**/console/alerts/{maya}")
        await expect(page.locator("#alert-status")).to_have_text("open")
        await expect(page.locator("blockquote.words")).to_contain_text("liquor store")
        await snapshot(page, "alert")
        await page.get_by_role("button", name="Acknowledge").click()
        await expect(page.locator("#alert-status")).to_have_text("acknowledged")
        await expect(page.locator("#alert-notice")).to_contain_text("Acknowledged. Thank you.")
        await expect(page.get_by_role("button", name="Acknowledge")).to_have_count(0)
        await fits_a_phone(page, "alert-phone")

        await page.get_by_role("link", name="Clients", exact=True).click()
        await expect(page.locator("#clients tbody tr")).to_have_count(4)  # Dana's four
        await snapshot(page, "clients")
        await page.locator(f"#client-{made.clients['Maya']}").get_by_role("link").click()
        timeline = page.locator("#timeline")
        await expect(timeline.locator("li.event-alert")).to_contain_text(
            "alert: craving, acknowledged"
        )
        await expect(timeline).to_contain_text("drove past the liquor store twice")
        await snapshot(page, "client")
        await fits_a_phone(page)
        await page.get_by_role("link", name="What they would hear over the next 90 days").click()
        await expect(page.locator("#preview li.planned").first).to_be_visible()
        await snapshot(page, "client-preview", max_height=1400)

    async with sessions() as session:
        stored = await session.get(Alert, maya)
        dana = await session.scalar(
            sa.select(col(ConsoleUser.id)).where(col(ConsoleUser.email) == "dana@example.org")
        )
    assert stored is not None
    assert (stored.status, stored.acknowledged_by) == (AlertStatus.acknowledged, made.staff["Dana"])
    [acknowledged] = [e for e in await history(sessions, maya) if e.kind == "acknowledged"]
    assert acknowledged.staff == made.staff["Dana"]
    assert acknowledged.detail == {"via": "console", "console_user_id": dana}


async def test_a_clients_markup_is_text_on_every_page(
    chromium: Browser,
    settings: Settings,
    engine: AsyncEngine,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        plain = Client(code="KAI001", first_name="Kai", timezone="UTC", state=ClientState.active)
        hostile = Client(
            code="ESC001", first_name=HOSTILE_NAME, timezone="UTC", state=ClientState.active
        )
        session.add_all([plain, hostile])
        await session.flush()
        message = InboundMessage(
            update_id=1,
            client_id=hostile.id,
            kind=InboundKind.text,
            text=HOSTILE,
            received_at=START - timedelta(minutes=5),
        )
        session.add(message)
        await session.flush()
        signal = Signal(
            client_id=hostile.id or 0,
            inbound_message_id=message.id,
            kind=SignalKind.relapse,
            severity=Severity.high,
            evidence={"words": HOSTILE},
        )
        alert = Alert(
            client_id=hostile.id or 0,
            kind=SignalKind.relapse,
            severity=Severity.high,
            summary=REASONS["en"][SignalKind.relapse],
            opened_at=START - timedelta(minutes=5),
        )
        session.add_all([signal, alert])
        await session.flush()
        session.add(
            AlertEvent(
                alert_id=alert.id or 0,
                kind=AlertEventKind.opened,
                signal_id=signal.id,
                detail={"kind": "relapse", "severity": "high"},
                created_at=alert.opened_at,
            )
        )
        await session.commit()
    await create(settings, "ana@example.org", "admin")

    async def unharmed(page: Page) -> None:
        assert await page.evaluate("window.__pwned") is None
        assert await page.locator("main b").count() == 0

    async with opened(chromium, engine, clock) as page:
        await sign_in(page, "ana@example.org")
        await page.get_by_role("link", name="Clients", exact=True).click()
        await expect(page.locator(f"#client-{hostile.id}")).to_contain_text(HOSTILE_NAME)
        await unharmed(page)
        await page.locator("#q").fill("esc")
        await page.locator("#q").press("Enter")
        await page.wait_for_url("**/console/clients?q=esc*")
        await expect(page.locator("#clients tbody tr")).to_have_count(1)
        await page.locator(f"#client-{hostile.id}").get_by_role("link").click()
        await expect(page.get_by_role("heading", level=1)).to_contain_text(HOSTILE_NAME)
        words = page.locator("#timeline li.event-inbound .words")
        await expect(words).to_have_text(HOSTILE)
        assert HOSTILE in await page.locator("#timeline").inner_text()
        await unharmed(page)

        await page.get_by_role("link", name="Alerts", exact=True).click()
        await expect(page.locator(f"#alert-{alert.id}")).to_contain_text(HOSTILE_NAME)
        await unharmed(page)
        await page.locator(f"#alert-{alert.id}").get_by_role("link", name="reported use").click()
        await expect(page.locator("blockquote.words")).to_have_text(HOSTILE)
        await expect(page.locator("ul.evidence mark")).to_have_text(HOSTILE)
        await unharmed(page)


async def test_a_viewer_finds_no_way_into_the_templates(
    chromium: Browser, settings: Settings, engine: AsyncEngine, clock: Clock
) -> None:
    await create(settings, "vic@example.org", "viewer")
    async with opened(chromium, engine, clock) as page:
        await sign_in(page, "vic@example.org")
        nav = page.get_by_role("navigation", name="Console")
        await expect(nav.get_by_role("link", name="Alerts", exact=True)).to_be_visible()
        await expect(nav.get_by_role("link", name="Templates")).to_have_count(0)
        answer = await page.goto("/console/templates")
        assert answer is not None and answer.status == 403
        await expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
        await expect(page.get_by_role("alert")).to_contain_text("Your role does not give access")


async def test_chatting_with_the_bot_in_the_sandbox(
    chromium: Browser,
    bot_service: Services,
    engine: AsyncEngine,
    clock: Clock,
) -> None:
    await create(bot_service.settings, "ana@example.org", "admin")
    sandbox_url = bot_service.telegram.api_base
    async with opened(chromium, engine, clock, sandbox_url=sandbox_url) as page:
        await sign_in(page, "ana@example.org")
        await page.get_by_role("link", name="Sandbox", exact=True).click()
        await page.get_by_label("First name").fill("Maya")
        await page.get_by_role("button", name="Make the alumnus and open their invite").click()
        await page.wait_for_url("**/console/sandbox/chats/*")
        chat = page.locator("#chat")
        await chat.get_by_role("button", name="I agree").click()
        await expect(chat).to_contain_text("Thank you, Maya.")
        await expect(chat.get_by_role("button", name="Done")).to_be_visible()
        await page.locator("#say").fill("Hi! Is this private?")
        await page.get_by_role("button", name="Send", exact=True).click()
        await expect(chat.locator("li.you").last).to_contain_text("Is this private?")
        await snapshot(page, "sandbox-chat")
