"""A client's data on their request: exported as JSON and erased, from the console (admins) and
the command line; what an auditor sees of it; and secrets only from the environment."""

from __future__ import annotations

import json
import os
import stat
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import col

from service.alerts.models import Alert, AlertEvent, AlertEventKind
from service.audit.models import ActorKind, AuditEntry
from service.clients.models import Client, ClientState, ConsentDecision, ConsentRecord
from service.config import Settings, load_settings
from service.conversations.models import InboundMessage
from service.outbox.models import OutboxMessage
from service.signals.models import Severity, Signal, SignalKind
from service.staff.models import ConsoleUser
from tests.console import HTML, Clock, create, post, signed_in
from tests.integration.test_cli import aftercare
from tests.integration.test_console_clients import People
from tests.integration.test_retention import Written

SECRET_TOKEN = "123456:SECRET-token-never-shown"
SECRET_PASSWORD = "pg-password-never-shown"


async def a_client_with_history(sessions: async_sessionmaker[AsyncSession]) -> tuple[Client, int]:
    """Ana, with a message, its signal and alert (with a note), a reply, and consent."""
    people = People(sessions)
    dana = await people.staff("Dana")
    ana = await people.client("Ana", coordinator_id=dana, reasons={"family": "my daughter"})
    written = Written(sessions, people)
    message = await written.message(ana, "i drank last night", timedelta(days=1))
    signal = await written.signal(ana, message, ["drank"])
    await written.sent(ana, "Thank you for telling me, Ana.", timedelta(days=1))
    async with sessions() as session:
        assert ana.id is not None
        session.add(
            ConsentRecord(
                client_id=ana.id,
                decision=ConsentDecision.granted,
                text_version="v1",
                language="en",
            )
        )
        alert = Alert(client_id=ana.id, kind=SignalKind.relapse, severity=Severity.high)
        session.add(alert)
        await session.flush()
        assert alert.id is not None
        session.add_all(
            [
                AlertEvent(alert_id=alert.id, kind=AlertEventKind.opened, signal_id=signal),
                AlertEvent(
                    alert_id=alert.id,
                    kind=AlertEventKind.note,
                    staff_member_id=dana,
                    detail={"text": "called her back"},
                ),
            ]
        )
        await session.commit()
    return ana, dana


async def entries(sessions: async_sessionmaker[AsyncSession], client_id: int) -> list[AuditEntry]:
    """What an auditor sees of one client: every entry about them, oldest first."""
    async with sessions() as session:
        return list(
            await session.scalars(
                sa.select(AuditEntry)
                .where(
                    col(AuditEntry.subject_type) == "client",
                    col(AuditEntry.subject_id) == str(client_id),
                )
                .order_by(col(AuditEntry.id))
            )
        )


async def user_id(sessions: async_sessionmaker[AsyncSession], email: str) -> int:
    async with sessions() as session:
        found = await session.scalar(
            sa.select(col(ConsoleUser.id)).where(col(ConsoleUser.email) == email)
        )
    assert found is not None
    return found


def check_export(document: dict[str, object], ana: Client) -> None:
    assert document["format"] == "aftercare.client-export/1"
    client = document["client"]
    assert isinstance(client, dict)
    assert client["code"] == ana.code and client["reasons"] == {"family": "my daughter"}
    received = document["messages_received"]
    assert isinstance(received, list)
    assert [item["text"] for item in received] == ["i drank last night"]
    sent = document["messages_sent"]
    assert isinstance(sent, list) and sent[0]["text"] == "Thank you for telling me, Ana."
    signals = document["signals"]
    assert isinstance(signals, list) and signals[0]["evidence"]["words"] == ["drank"]
    alerts = document["alerts"]
    assert isinstance(alerts, list) and len(alerts) == 1
    assert [event["kind"] for event in alerts[0]["events"]] == ["opened", "note"]
    consent = document["consent"]
    assert isinstance(consent, list) and consent[0]["decision"] == "granted"
    invites = document["invites"]
    assert isinstance(invites, list) and invites and "token_sha256" not in invites[0]
    assert "access_log" in document and "checkins" in document


async def test_an_admin_downloads_a_clients_data_as_json_and_it_is_audited(
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: Clock,
) -> None:
    ana, dana = await a_client_with_history(sessions)
    assert ana.id is not None
    await create(settings, "ada@example.org", "admin")
    await create(settings, "cy@example.org", "coordinator", staff=dana)
    await create(settings, "vi@example.org", "viewer")

    async with signed_in(engine, clock, "ada@example.org") as web:
        page = await web.get(f"/console/clients/{ana.id}", headers=HTML)
        assert f'action="/console/clients/{ana.id}/export"' in page.text
        assert f'action="/console/clients/{ana.id}/erase"' in page.text
        download = await post(web, f"/console/clients/{ana.id}/export")
        assert download.status_code == 200
        assert download.headers["content-type"] == "application/json"
        assert download.headers["cache-control"] == "no-store"
        assert download.headers["content-disposition"] == (
            f'attachment; filename="client-{ana.code}.json"'
        )
        check_export(download.json(), ana)
        # Without the session's CSRF token: refused, and nothing is exported.
        forged = await web.post(f"/console/clients/{ana.id}/export", data={})
        assert forged.status_code == 403 and "application/json" not in forged.headers.get(
            "content-type", ""
        )
        assert (await post(web, "/console/clients/999999/export")).status_code == 404

    # Coordinators (even for their own clients) and viewers may not export: admins only.
    for email in ("cy@example.org", "vi@example.org"):
        async with signed_in(engine, clock, email) as web:
            page = await web.get(f"/console/clients/{ana.id}", headers=HTML)
            assert page.status_code == 200 and "/export" not in page.text
            assert "/erase" not in page.text
            refused = await post(web, f"/console/clients/{ana.id}/export")
            assert refused.status_code == 403
            assert refused.headers["content-type"].startswith("text/html")

    ada = await user_id(sessions, "ada@example.org")
    exported = [entry for entry in await entries(sessions, ana.id) if "exported" in entry.action]
    assert len(exported) == 1
    assert exported[0].actor_kind is ActorKind.console_user and exported[0].actor_id == ada
    assert exported[0].detail == {"messages_received": 1, "messages_sent": 1}


async def test_an_admin_erases_a_client_with_their_code_typed(
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: Clock,
) -> None:
    ana, dana = await a_client_with_history(sessions)
    assert ana.id is not None
    await create(settings, "ada@example.org", "admin")
    await create(settings, "cy@example.org", "coordinator", staff=dana)
    erase = f"/console/clients/{ana.id}/erase"

    async with signed_in(engine, clock, "cy@example.org") as web:
        assert (await post(web, erase, {"code": ana.code})).status_code == 403

    async with signed_in(engine, clock, "ada@example.org") as web:
        no_csrf = await web.post(erase, data={"code": ana.code})
        assert no_csrf.status_code == 403
        for typed in ("", "WRONG1", f"{ana.code}x"):
            refused = await post(web, erase, {"code": typed})
            assert refused.status_code == 422
            assert f"Type the client&#39;s code, {ana.code}" in refused.text
        async with sessions() as session:
            assert await session.scalar(sa.select(sa.func.count()).select_from(InboundMessage))

        done = await post(web, erase, {"code": f" {ana.code.lower()} "})
        assert done.status_code == 303
        assert done.headers["location"] == f"/console/clients/{ana.id}?done=erased"
        page = await web.get(done.headers["location"], headers=HTML)
        assert page.status_code == 200 and "is erased" in page.text
        assert "drank" not in page.text and "my daughter" not in page.text
        assert f'action="{erase}"' not in page.text  # nothing more to erase
        again = await post(web, erase, {"code": ana.code})
        assert again.status_code == 422 and "erased already" in again.text

    async with sessions() as session:
        tombstone = await session.get(Client, ana.id)
        assert tombstone is not None
        assert tombstone.state is ClientState.erased and tombstone.code == ana.code
        assert tombstone.first_name == "" and tombstone.reasons == {}
        for model in (InboundMessage, Signal, OutboxMessage):
            left = await session.scalar(sa.select(sa.func.count()).select_from(model))
            assert left == 0, model
        consent = list(
            await session.scalars(
                sa.select(col(ConsentRecord.decision)).where(col(ConsentRecord.client_id) == ana.id)
            )
        )
        assert consent == [ConsentDecision.granted, ConsentDecision.withdrawn]

    ada = await user_id(sessions, "ada@example.org")
    erased = [entry for entry in await entries(sessions, ana.id) if entry.action == "client.erased"]
    assert [(entry.actor_kind, entry.actor_id) for entry in erased] == [
        (ActorKind.console_user, ada)
    ]


async def test_what_an_auditor_sees_of_one_client(
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    clock: Clock,
) -> None:
    ana, _ = await a_client_with_history(sessions)
    assert ana.id is not None
    await create(settings, "ada@example.org", "admin")
    async with signed_in(engine, clock, "ada@example.org") as web:
        assert (await web.get(f"/console/clients/{ana.id}", headers=HTML)).status_code == 200
        assert (await post(web, f"/console/clients/{ana.id}/export")).status_code == 200
        assert (await post(web, f"/console/clients/{ana.id}/erase", {"code": ana.code})).is_redirect

    ada = await user_id(sessions, "ada@example.org")
    seen = [
        (entry.actor_kind, entry.actor_id, entry.action)
        for entry in await entries(sessions, ana.id)
    ]
    by_ada = [(kind, who, action) for kind, who, action in seen if who == ada]
    # Besides opening the client's page: the export and the erasure, in that order.
    assert [action for _, _, action in by_ada if action != "console.client_messages.viewed"] == [
        "client.exported",
        "client.erased",
    ]
    assert "console.client_messages.viewed" in {action for _, _, action in by_ada}
    for entry in await entries(sessions, ana.id):  # ids and counts, never what was written
        dumped = json.dumps(entry.detail)
        assert "drank" not in dumped and "daughter" not in dumped and "Ana" not in dumped


async def test_the_command_line_exports_and_erases_a_client(
    database_url: URL, sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    ana, _ = await a_client_with_history(sessions)
    assert ana.id is not None
    url = database_url.render_as_string(hide_password=False)

    printed = aftercare("clients", "export", str(ana.id), AFTERCARE_DATABASE_URL=url)
    assert printed.returncode == 0, printed.stderr
    check_export(json.loads(printed.stdout), ana)
    out = tmp_path / "ana.json"
    written = aftercare(
        "clients", "export", str(ana.id), "--out", str(out), AFTERCARE_DATABASE_URL=url
    )
    assert written.returncode == 0, written.stderr
    assert str(out) in written.stdout
    check_export(json.loads(out.read_text(encoding="utf-8")), ana)
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600

    unsure = aftercare("clients", "erase", str(ana.id), AFTERCARE_DATABASE_URL=url)
    assert unsure.returncode == 1 and "--yes" in unsure.stderr
    missing = aftercare("clients", "erase", "999999", "--yes", AFTERCARE_DATABASE_URL=url)
    assert missing.returncode == 1 and "no client 999999" in missing.stderr
    async with sessions() as session:
        still = await session.get(Client, ana.id)
        assert still is not None and still.state is ClientState.active

    erased = aftercare("clients", "erase", str(ana.id), "--yes", AFTERCARE_DATABASE_URL=url)
    assert erased.returncode == 0, erased.stderr
    assert f"Client {ana.code} is erased" in erased.stdout
    again = aftercare("clients", "erase", str(ana.id), "--yes", AFTERCARE_DATABASE_URL=url)
    assert again.returncode == 1 and "erased already" in again.stderr
    async with sessions() as session:
        tombstone = await session.get(Client, ana.id)
        assert tombstone is not None and tombstone.state is ClientState.erased
    actions = [
        (entry.actor_kind, entry.action)
        for entry in await entries(sessions, ana.id)
        if entry.action in {"client.exported", "client.erased"}
    ]
    assert actions == [
        (ActorKind.cli, "client.exported"),
        (ActorKind.cli, "client.exported"),
        (ActorKind.cli, "client.erased"),
    ]


def test_secrets_come_only_from_the_environment_and_are_never_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.startswith("AFTERCARE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    # A .env file in the working directory (or a secrets directory) is not read.
    (tmp_path / ".env").write_text(
        f"AFTERCARE_TELEGRAM_TOKEN={SECRET_TOKEN}\n"
        f"AFTERCARE_DATABASE_URL=postgresql://u:{SECRET_PASSWORD}@db/x\n",
        encoding="utf-8",
    )
    from_files = load_settings()
    assert from_files.telegram_token is None and from_files.database_url is None

    monkeypatch.setenv("AFTERCARE_TELEGRAM_TOKEN", SECRET_TOKEN)
    monkeypatch.setenv("AFTERCARE_DATABASE_URL", f"postgresql://u:{SECRET_PASSWORD}@db/x")
    monkeypatch.setenv("AFTERCARE_WEBHOOK_URL", "https://aftercare.example/telegram/webhook")
    monkeypatch.setenv("AFTERCARE_WEBHOOK_SECRET", "webhook-secret-never-shown")
    settings = load_settings()
    assert settings.telegram_token is not None
    assert settings.telegram_token.get_secret_value() == SECRET_TOKEN
    for shown in (repr(settings), str(settings), str(settings.model_dump())):
        assert SECRET_TOKEN not in shown and SECRET_PASSWORD not in shown
        assert "webhook-secret-never-shown" not in shown
