"""Alerts in Telegram: routed to the coordinator and the team chat with buttons, one per client
and episode, acted on by the care team (and only by them), every change an alert event; what
they carry (the client's words only where enabled) and the word to the client when seen."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.alerts.models import AlertStatus
from service.alerts.service import raise_alert
from service.clients.models import Client
from service.columns import utcnow
from service.runtime import Services, messaging_for
from service.sandbox.client import JSON, SandboxClient
from service.signals.models import Severity, SignalKind
from service.staff.models import StaffMember, StaffRole
from tests.people import COORDINATOR, Chat, client_of, enrol, service_running
from tests.team import (
    ON_CALL,
    STRANGER,
    SUPERVISOR,
    TEAM_CHAT,
    alerts,
    answers,
    drained,
    history,
    kinds,
    labels,
    latest,
    link_staff,
    message,
    new_client,
    press,
    with_settings,
)
from tests.waiting import eventually

CRISIS = "I want to kill myself"
NEW_YORK = ZoneInfo("America/New_York")  # the deployment's default timezone
OPEN = [["Acknowledge", "Call back requested"], ["Resolve"]]


class Team:
    """A coordinator (Dana), a supervisor (Sam) and an on-call nurse (Noor), all linked, and a
    team chat they share with someone who is not on the team."""

    def __init__(self, coordinator: int, supervisor: int, on_call: int) -> None:
        self.coordinator = coordinator
        self.supervisor = supervisor
        self.on_call = on_call


async def make_team(
    telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession], *, language: str = "en"
) -> Team:
    coordinator = await link_staff(
        telegram, sessions, COORDINATOR, "Dana", StaffRole.coordinator, language=language
    )
    supervisor = await link_staff(telegram, sessions, SUPERVISOR, "Sam", StaffRole.supervisor)
    on_call = await link_staff(
        telegram, sessions, ON_CALL, "Noor", StaffRole.coordinator, on_call=True
    )
    team = Team(coordinator, supervisor, on_call)
    await telegram.ensure_user(STRANGER, "Lee")
    await telegram.create_group(TEAM_CHAT, "Care team", [COORDINATOR, SUPERVISOR, STRANGER])
    return team


@pytest.fixture
def team_services(services: Services) -> Services:
    return with_settings(services, alert_chat_id=TEAM_CHAT)


async def test_an_alert_reaches_the_coordinator_and_the_team_chat_with_buttons(
    team_services: Services, telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with service_running(team_services):
        team = await make_team(telegram, sessions)
        chat = await enrol(telegram, sessions, coordinator_id=team.coordinator)
        await chat.send(CRISIS)
        assert "988" in (await chat.says())["text"]
        to_coordinator = await latest(telegram, COORDINATOR)
        to_team = await latest(telegram, TEAM_CHAT)
        client = await client_of(sessions)
        for sent in (to_coordinator, to_team):
            assert client.code in sent["text"]
            assert "critical" in sent["text"]
            assert "/console/alerts/" in sent["text"]
            assert "Kai" not in sent["text"]  # a code, never the name
            assert "kill" not in sent["text"]  # nor their words, unless the deployment says so
            assert labels(sent) == OPEN
        [alert] = await alerts(sessions)
        assert alert.id is not None

        async def delivered() -> list[tuple[int | None, int, int]]:
            return [
                (e.staff, e.detail["chat_id"], e.detail["message_id"])
                for e in await history(sessions, alert.id or 0)
                if e.kind == "delivered"
            ]

        await eventually(
            delivered,
            [
                (team.coordinator, COORDINATOR, to_coordinator["message_id"]),
                (None, TEAM_CHAT, to_team["message_id"]),
            ],
        )
    events = await history(sessions, alert.id)
    assert [(e.kind, e.staff, e.detail.get("to")) for e in events] == [
        ("opened", None, None),
        ("notified", team.coordinator, "coordinator"),
        ("notified", None, "team_chat"),
        ("delivered", team.coordinator, None),
        ("delivered", None, None),
    ]
    assert events[0].detail == {"kind": "self_harm", "severity": "critical"}
    assert alert.next_escalation_at == alert.opened_at + timedelta(minutes=5)
    assert (alert.escalation_level, alert.escalation_started_at) == (0, alert.opened_at)


async def crisis_alert(
    services: Services,
    telegram: SandboxClient,
    sessions: async_sessionmaker[AsyncSession],
    *,
    language: str = "en",
    text: str = CRISIS,
) -> tuple[Team, Chat, JSON, JSON]:
    """Within a running service: the team, an enrolled client who writes ``text``, and the
    alert as the coordinator and the team chat received it (delivered: its buttons work)."""
    team = await make_team(telegram, sessions)
    chat = await enrol(telegram, sessions, coordinator_id=team.coordinator, language=language)
    await chat.send(text)
    await chat.says()
    to_coordinator = await latest(telegram, COORDINATOR)
    to_team = await latest(telegram, TEAM_CHAT)
    [alert] = await alerts(sessions)

    async def delivered() -> int:
        return (await kinds(sessions, alert.id or 0)).count("delivered")

    await eventually(delivered, 2)
    return team, chat, to_coordinator, to_team


def at(when: datetime | None) -> str:
    """A time as alerts show it: hours and minutes in the deployment's timezone."""
    assert when is not None
    return when.astimezone(NEW_YORK).strftime("%H:%M")


Shown = list[tuple[str, list[list[str]]]]  # last lines and buttons


async def shown(telegram: SandboxClient, *sent: JSON) -> Shown:
    """The last line of each message as it stands now, and its buttons."""
    current = [await message(telegram, m["chat_id"], m["message_id"]) for m in sent]
    return [(m["text"].splitlines()[-1], labels(m)) for m in current]


async def test_a_burst_of_messages_updates_one_alert(
    team_services: Services, telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with service_running(team_services):
        _, chat, _, _ = await crisis_alert(team_services, telegram, sessions)
        for _ in range(3):
            await chat.send(CRISIS)
            await chat.says()
        await drained(sessions)
    [alert] = await alerts(sessions)
    events = await history(sessions, alert.id or 0)
    findings = [e for e in events if e.kind in {"opened", "updated"}]
    assert [e.kind for e in findings][:1] == ["opened"]
    assert [e.kind for e in findings[1:]] == ["updated"] * (len(findings) - 1)
    assert len(findings) >= 4  # every message is a finding of the same episode
    assert all(e.signal is not None for e in findings)
    assert [e.kind for e in events].count("notified") == 2  # told once: coordinator and team
    assert len(await telegram.sent_messages(COORDINATOR)) == 1
    assert len(await telegram.sent_messages(TEAM_CHAT)) == 1


async def test_a_more_severe_finding_takes_over_the_alert_and_notifies_again(
    team_services: Services, telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    messaging = messaging_for(team_services.settings)
    started = utcnow()

    async def finding(kind: SignalKind, severity: Severity, minutes: int) -> None:
        async with sessions() as session:
            stored = await session.get(Client, client.id)
            assert stored is not None
            now = started + timedelta(minutes=minutes)
            await raise_alert(session, stored, kind, severity, now=now, messaging=messaging)
            await session.commit()

    async with service_running(team_services):
        team = await make_team(telegram, sessions)
        client = await new_client(sessions, "RIS123", team.coordinator)
        await finding(SignalKind.craving, Severity.medium, 0)
        first = await latest(telegram, COORDINATOR)
        assert "medium" in first["text"] and "strong craving" in first["text"]
        await eventually(lambda: kinds_of(sessions), ["delivered", "delivered"], within=5)
        await press(telegram, COORDINATOR, first, "Acknowledge")
        await eventually(lambda: answers(telegram, COORDINATOR), ["Acknowledged. Thank you."])
        await finding(SignalKind.low_scale, Severity.medium, 1)  # no more severe: noted only
        await finding(SignalKind.self_harm, Severity.critical, 2)
        second = await latest(telegram, COORDINATOR, 2)
        assert "critical" in second["text"] and "self-harm" in second["text"]
        assert labels(second) == OPEN  # open again: all the buttons
        assert "critical" in (await latest(telegram, TEAM_CHAT, 2))["text"]
        await finding(SignalKind.relapse, Severity.high, 3)  # less severe: noted only
        await drained(sessions)
    assert len(await telegram.sent_messages(COORDINATOR)) == 2
    [alert] = await alerts(sessions)
    assert (alert.kind, alert.severity, alert.status) == ("self_harm", "critical", "open")
    assert (alert.acknowledged_at, alert.acknowledged_by) == (None, None)
    assert alert.escalation_started_at == started + timedelta(minutes=2)  # the ladder restarts
    assert alert.next_escalation_at == started + timedelta(minutes=7)
    events = [e for e in await history(sessions, alert.id or 0) if e.kind != "delivered"]
    assert [(e.kind, e.detail.get("severity")) for e in events] == [
        ("opened", "medium"),
        ("notified", "medium"),
        ("notified", "medium"),
        ("acknowledged", None),
        ("updated", "medium"),
        ("updated", "critical"),
        ("reopened", "critical"),
        ("notified", "critical"),
        ("notified", "critical"),
        ("updated", "high"),
    ]


async def kinds_of(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    """The delivered events of the first alert."""
    [alert, *_] = await alerts(sessions)
    return [kind for kind in await kinds(sessions, alert.id or 0) if kind == "delivered"]


async def test_acknowledge_then_resolve_shows_who_acted_on_every_copy(
    team_services: Services, telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with service_running(team_services):
        team, _, to_coordinator, to_team = await crisis_alert(team_services, telegram, sessions)
        await press(telegram, COORDINATOR, to_coordinator, "Acknowledge")
        await eventually(lambda: answers(telegram, COORDINATOR), ["Acknowledged. Thank you."])
        [alert] = await alerts(sessions)
        acknowledged = f"Acknowledged by Dana, {at(alert.acknowledged_at)}"
        await eventually(
            lambda: shown(telegram, to_coordinator, to_team),
            [(acknowledged, [["Resolve"]])] * 2,
        )
        now_on_team = await message(telegram, TEAM_CHAT, to_team["message_id"])
        await press(telegram, SUPERVISOR, now_on_team, "Resolve")
        await eventually(lambda: answers(telegram, SUPERVISOR), ["Resolved. Thank you."])
        [alert] = await alerts(sessions)
        resolved = f"Resolved by Sam, {at(alert.resolved_at)}"
        gone: Shown = [(resolved, [])] * 2
        await eventually(lambda: shown(telegram, to_coordinator, to_team), gone)
        edited = await message(telegram, COORDINATOR, to_coordinator["message_id"])
        assert edited["text"].startswith(to_coordinator["text"])  # the alert itself stays
        assert acknowledged in edited["text"]
    assert (alert.status, alert.acknowledged_by, alert.resolved_by) == (
        AlertStatus.resolved,
        team.coordinator,
        team.supervisor,
    )
    assert alert.next_escalation_at is None  # the ladder stopped
    events = await history(sessions, alert.id or 0)
    acted = [
        (e.kind, e.staff, e.detail.get("chat_id"))
        for e in events
        if e.kind in {"acknowledged", "resolved"}
    ]
    assert acted == [
        ("acknowledged", team.coordinator, COORDINATOR),
        ("resolved", team.supervisor, TEAM_CHAT),
    ]


async def test_call_back_requested_in_the_team_chat_counts_as_acknowledged(
    team_services: Services, telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with service_running(team_services):
        team, _, to_coordinator, to_team = await crisis_alert(team_services, telegram, sessions)
        await press(telegram, SUPERVISOR, to_team, "Call back requested")
        await eventually(
            lambda: answers(telegram, SUPERVISOR), ["Noted: you'll call them back. Thank you."]
        )
        [alert] = await alerts(sessions)
        line = f"Call back requested by Sam, {at(alert.acknowledged_at)}"
        await eventually(
            lambda: shown(telegram, to_coordinator, to_team), [(line, [["Resolve"]])] * 2
        )
    assert (alert.status, alert.acknowledged_by, alert.next_escalation_at) == (
        AlertStatus.acknowledged,
        team.supervisor,
        None,
    )
    events = await history(sessions, alert.id or 0)
    assert [(e.kind, e.staff) for e in events if e.kind == "callback_requested"] == [
        ("callback_requested", team.supervisor)
    ]
    assert "acknowledged" not in [e.kind for e in events]


async def test_people_not_on_the_team_are_told_politely_and_change_nothing(
    team_services: Services, telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with service_running(team_services):
        team, _, to_coordinator, to_team = await crisis_alert(team_services, telegram, sessions)
        async with sessions() as session:  # Sam left the team
            supervisor = await session.get(StaffMember, team.supervisor)
            assert supervisor is not None
            supervisor.active = False
            await session.commit()
        await press(telegram, STRANGER, to_team, "Acknowledge")
        await press(telegram, SUPERVISOR, to_team, "Resolve")
        refused = "Sorry, only the care team can act on alerts."
        await eventually(lambda: answers(telegram, STRANGER), [refused])
        await eventually(lambda: answers(telegram, SUPERVISOR), [refused])
        await drained(sessions)
    [alert] = await alerts(sessions)
    assert alert.status == AlertStatus.open
    assert alert.next_escalation_at is not None  # still climbing
    assert "acknowledged" not in await kinds(sessions, alert.id or 0)
    for sent in (to_coordinator, to_team):
        current = await message(telegram, sent["chat_id"], sent["message_id"])
        assert (current["edited"], labels(current)) == (False, OPEN)


async def test_a_second_tap_or_a_stale_alert_is_answered_kindly_and_changes_nothing(
    team_services: Services, telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with service_running(team_services):
        team, _, to_coordinator, to_team = await crisis_alert(team_services, telegram, sessions)
    # All pressed before the bot sees any of them, as on a slow connection.
    await press(telegram, COORDINATOR, to_coordinator, "Acknowledge")
    await press(telegram, COORDINATOR, to_coordinator, "Acknowledge")
    await press(telegram, SUPERVISOR, to_team, "Call back requested")
    async with service_running(team_services):
        by_coordinator = await answered(telegram, COORDINATOR, 2)
        by_supervisor = await answered(telegram, SUPERVISOR, 1)
        await drained(sessions)
    [alert] = await alerts(sessions)
    already = f"Already taken care of: Acknowledged by Dana, {at(alert.acknowledged_at)}."
    assert by_coordinator == ["Acknowledged. Thank you.", already]
    assert by_supervisor == [already]
    resolve_on = await message(telegram, TEAM_CHAT, to_team["message_id"])
    assert labels(resolve_on) == [["Resolve"]]
    await press(telegram, SUPERVISOR, resolve_on, "Resolve")
    await press(telegram, SUPERVISOR, resolve_on, "Resolve")
    async with service_running(team_services):
        by_supervisor = await answered(telegram, SUPERVISOR, 3)
        await drained(sessions)
    [alert] = await alerts(sessions)
    assert by_supervisor[1:] == [
        "Resolved. Thank you.",
        f"Already taken care of: Resolved by Sam, {at(alert.resolved_at)}.",
    ]
    assert (alert.status, alert.acknowledged_by) == (AlertStatus.resolved, team.coordinator)
    events = await kinds(sessions, alert.id or 0)
    assert (events.count("acknowledged"), events.count("resolved")) == (1, 1)
    assert "callback_requested" not in events


async def answered(telegram: SandboxClient, person: int, count: int) -> list[str]:
    """The answers to ``person``'s presses, once there are ``count``."""

    async def how_many() -> int:
        return len(await answers(telegram, person))

    await eventually(how_many, count)
    return await answers(telegram, person)


@pytest.mark.parametrize(
    "case",
    [
        (True, "en", "Someone from your care team has seen your message."),
        (True, "es", "Alguien de tu equipo de cuidado vio tu mensaje."),
        (False, "en", None),
    ],
)
async def test_the_client_hears_their_message_was_seen_only_where_enabled(
    services: Services,
    telegram: SandboxClient,
    sessions: async_sessionmaker[AsyncSession],
    case: tuple[bool, str, str | None],
) -> None:
    tell, language, expected = case
    configured = with_settings(services, alert_chat_id=TEAM_CHAT, tell_client_when_seen=tell)
    async with service_running(configured):
        words = CRISIS if language == "en" else "Quiero matarme"
        _, chat, to_coordinator, _ = await crisis_alert(
            configured, telegram, sessions, language=language, text=words
        )
        heard = len(await telegram.sent_messages(chat.person))
        await press(telegram, COORDINATOR, to_coordinator, "Acknowledge")
        await answered(telegram, COORDINATOR, 1)
        await drained(sessions)
        said = await telegram.sent_messages(chat.person)
    if expected is None:
        assert len(said) == heard
    else:
        assert len(said) == heard + 1
        assert said[-1]["text"].startswith(expected)
        assert "988" in said[-1]["text"]


@pytest.mark.parametrize("quoted", [True, False])
async def test_the_clients_words_are_in_the_alert_only_where_enabled_and_escaped(
    services: Services,
    telegram: SandboxClient,
    sessions: async_sessionmaker[AsyncSession],
    quoted: bool,
) -> None:
    words = "I want to kill myself <b>tonight</b> & nobody cares"
    configured = with_settings(services, alert_chat_id=TEAM_CHAT, alert_message_text=quoted)
    async with service_running(configured):
        _, _, to_coordinator, to_team = await crisis_alert(
            configured, telegram, sessions, text=words
        )
    for sent in (to_coordinator, to_team):
        if quoted:
            assert sent["text"].endswith(f"Their message: {words}")  # shown as written
            assert sent["source_text"].endswith(
                "Their message: <i>I want to kill myself &lt;b&gt;tonight&lt;/b&gt; "
                "&amp; nobody cares</i>"
            )
        else:
            assert "kill" not in sent["text"]
            assert "Their message" not in sent["text"]


async def test_a_spanish_speaking_coordinator_gets_spanish_buttons(
    team_services: Services, telegram: SandboxClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with service_running(team_services):
        team = await make_team(telegram, sessions, language="es")
        chat = await enrol(telegram, sessions, coordinator_id=team.coordinator)
        await chat.send(CRISIS)
        to_coordinator = await latest(telegram, COORDINATOR)
        assert "crítica" in to_coordinator["text"]
        assert labels(to_coordinator) == [
            ["Confirmar recepción", "Devolver la llamada"],
            ["Resolver"],
        ]
        assert labels(await latest(telegram, TEAM_CHAT)) == OPEN  # the team chat's language
        await eventually(lambda: kinds_of(sessions), ["delivered", "delivered"])
        await press(telegram, COORDINATOR, to_coordinator, "Confirmar recepción")
        assert await answered(telegram, COORDINATOR, 1) == ["Recibida. Gracias."]
        [alert] = await alerts(sessions)
        await eventually(
            lambda: shown(telegram, to_coordinator),
            [(f"Recibida por Dana, {at(alert.acknowledged_at)}", [["Resolver"]])],
        )
