"""The console's accounts and access, over HTTP against the real app and database: signing in
and out, the session cookie, lockout and throttling, CSRF, idle and absolute expiry, roles, and
the audit log. Users are created with the `aftercare users` command's own function."""

from __future__ import annotations

import io
import logging
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import col

from service.alerts.models import Alert, AlertStatus
from service.audit.models import AuditEntry
from service.clients.models import Client, ClientState
from service.config import Settings, load_settings
from service.console import cli
from service.console.accounts import AccessPolicy, Tidier
from service.console.models import ConsoleSession, LoginAttempt
from service.errors import AftercareError
from service.runtime import Services
from service.signals.models import Severity, SignalKind
from service.staff.models import ConsoleUser, StaffMember, StaffRole
from service.web.console import LOCKED, REFUSED, THROTTLED, ConsoleConfig
from tests.console import (
    HTML,
    PASSWORD,
    START,
    Clock,
    browser,
    create,
    csrf_of,
    login_form,
    parse,
    post,
    sign_in,
    users,
)
from tests.integration.test_run import free_port
from tests.people import service_running
from tests.waiting import eventually


@pytest.fixture
async def web(engine: AsyncEngine, clock: Clock) -> AsyncIterator[httpx.AsyncClient]:
    async with browser(engine, clock) as client:
        yield client


async def audit_actions(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessions() as session:
        rows = await session.scalars(
            sa.select(col(AuditEntry.action))
            .where(col(AuditEntry.action).like("console.%"))
            .order_by(col(AuditEntry.id))
        )
        return list(rows)


async def test_signing_in_sets_a_strict_cookie_and_shows_the_console(
    settings: Settings, web: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await create(settings, "Ana@Example.org", "admin")

    page = await web.get("/login")
    assert 'autocomplete="username"' in page.text
    assert 'autocomplete="current-password"' in page.text
    assert '<label for="email">' in page.text and '<label for="password">' in page.text

    signed = await sign_in(web, "ana@example.org")
    assert signed.status_code == 303
    assert signed.headers["location"] == "/console"
    cookie = next(
        value
        for value in signed.headers.get_list("set-cookie")
        if value.startswith("aftercare_session=")
    )
    flags = [part.strip().lower() for part in cookie.split(";")]
    assert "httponly" in flags
    assert "samesite=lax" in flags
    assert "path=/" in flags
    assert "secure" not in flags

    home = await web.get("/console", headers=HTML)
    assert home.status_code == 200
    assert "Signed in as <strong>ana@example.org</strong> (admin)" in home.text
    assert home.headers["cache-control"] == "no-store"
    async with sessions() as session:
        stored = (await session.scalars(sa.select(ConsoleSession))).one()
        user = (await session.scalars(sa.select(ConsoleUser))).one()
    token = web.cookies["aftercare_session"]
    assert token not in stored.token_hash  # only the digest is kept
    assert len(stored.token_hash) == 64
    assert stored.expires_at - stored.created_at == timedelta(hours=12)
    assert user.last_login_at == START
    assert await audit_actions(sessions) == ["console.login"]


async def test_the_cookie_is_secure_when_the_console_is_reached_over_https(
    settings: Settings, engine: AsyncEngine, clock: Clock
) -> None:
    await create(settings, "ana@example.org", "viewer")
    config = ConsoleConfig.from_settings(load_settings(public_url="https://care.example"))
    assert config.secure_cookies
    async with browser(engine, clock, config=config, base_url="https://care.example") as web:
        signed = await sign_in(web, "ana@example.org")
    assert signed.status_code == 303
    assert "; secure" in signed.headers["set-cookie"].lower()


async def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(
    settings: Settings,
    web: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
    caplog: pytest.LogCaptureFixture,
) -> None:
    await create(settings, "ana@example.org", "admin")
    caplog.set_level(logging.DEBUG)
    wrong = await sign_in(web, "ana@example.org", "not the password at all")
    unknown = await sign_in(web, "nobody@example.org", "not the password at all")
    for answer in (wrong, unknown):
        assert answer.status_code == 200
        assert f'<p class="alert" role="alert" id="login-error">{REFUSED}</p>' in answer.text
        assert 'aria-invalid="true"' in answer.text
        assert "aftercare_session" not in answer.headers.get("set-cookie", "")
    assert await audit_actions(sessions) == ["console.login_failed", "console.login_failed"]
    async with sessions() as session:
        details = list(
            await session.scalars(
                sa.select(col(AuditEntry.detail)).where(
                    col(AuditEntry.action) == "console.login_failed"
                )
            )
        )
        # Never what was typed: a password typed as the email would be kept for good.
        assert [detail.get("known_user") for detail in details] == [True, False]
        assert "nobody@example.org" not in str(details)

    assert (await sign_in(web, "ana@example.org")).status_code == 303
    async with sessions() as session:
        entries = (await session.scalars(sa.select(AuditEntry))).all()
    written = repr([(e.action, e.subject_id, e.detail) for e in entries])
    for password in (PASSWORD, "not the password at all"):
        assert password not in written
        assert password not in caplog.text


async def test_five_failures_lock_an_email_for_fifteen_minutes(
    settings: Settings,
    web: httpx.AsyncClient,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await create(settings, "ana@example.org", "admin")
    for attempt in range(1, 6):
        answer = await sign_in(web, "ana@example.org", f"wrong password {attempt}")
        expected = LOCKED if attempt == 5 else REFUSED
        assert expected in answer.text, attempt
    assert answer.status_code == 429

    clock.advance(minutes=14)
    refused = await sign_in(web, "ana@example.org")  # the right password, while locked
    assert refused.status_code == 429
    assert LOCKED in refused.text
    assert "aftercare_session" not in web.cookies

    clock.advance(minutes=1, seconds=1)
    assert (await sign_in(web, "ana@example.org")).status_code == 303
    actions = await audit_actions(sessions)
    assert actions == ["console.login_failed"] * 5 + ["console.lockout", "console.login"]


async def test_failures_spread_over_more_than_the_window_do_not_lock(
    settings: Settings, web: httpx.AsyncClient, clock: Clock
) -> None:
    await create(settings, "ana@example.org", "admin")
    for _ in range(4):
        assert REFUSED in (await sign_in(web, "ana@example.org", "wrong password!")).text
    clock.advance(minutes=16)
    for _ in range(4):
        assert REFUSED in (await sign_in(web, "ana@example.org", "wrong password!")).text
    assert (await sign_in(web, "ana@example.org")).status_code == 303


async def test_one_address_gets_twenty_attempts_per_fifteen_minutes(
    settings: Settings, engine: AsyncEngine, clock: Clock
) -> None:
    await create(settings, "ana@example.org", "admin")
    async with browser(engine, clock, ip="198.51.100.7") as web:
        for n in range(20):
            assert REFUSED in (await sign_in(web, f"guess{n}@example.org", "wrong password")).text
        throttled = await sign_in(web, "ana@example.org")  # even the right one
        assert throttled.status_code == 429
        assert THROTTLED in throttled.text
        assert throttled.headers["retry-after"] == "900"
    async with browser(engine, clock, ip="198.51.100.8") as elsewhere:
        assert (await sign_in(elsewhere, "ana@example.org")).status_code == 303
    clock.advance(minutes=15, seconds=1)
    async with browser(engine, clock, ip="198.51.100.7") as web:
        assert (await sign_in(web, "ana@example.org")).status_code == 303


async def test_forms_without_the_right_csrf_token_are_refused(
    settings: Settings, web: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await create(settings, "ana@example.org", "admin")
    await login_form(web)
    login = {"email": "ana@example.org", "password": PASSWORD}
    assert (await web.post("/login", data=login)).status_code == 403
    assert (await web.post("/login", data={**login, "csrf_token": "forged"})).status_code == 403
    # Too big to be a form: refused before it is read, declared or not.
    huge = b"email=" + b"a" * 70_000
    assert (await web.post("/login", content=huge)).status_code == 403

    async def streamed() -> AsyncIterator[bytes]:
        for _ in range(100):
            yield b"a" * 1024

    assert (await web.post("/login", content=streamed())).status_code == 403
    assert (await sign_in(web, "ana@example.org")).status_code == 303

    csrf = await csrf_of(web)
    assert (await web.post("/logout", data={})).status_code == 403
    assert (await web.post("/logout", data={"csrf_token": "forged"})).status_code == 403
    assert (await web.get("/console", headers=HTML)).status_code == 200  # still signed in

    out = await web.post("/logout", data={"csrf_token": csrf})
    assert out.status_code == 303
    assert out.headers["location"] == "/login"
    async with sessions() as session:
        assert (await session.scalars(sa.select(ConsoleSession))).all() == []
    assert "console.logout" in await audit_actions(sessions)
    again = await web.get("/console", headers=HTML)
    assert again.status_code == 303


async def test_a_session_ends_when_idle_and_at_its_lifetime(
    settings: Settings,
    web: httpx.AsyncClient,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await create(settings, "ana@example.org", "viewer")
    assert (await sign_in(web, "ana@example.org")).status_code == 303
    for _ in range(3):  # in use: every request keeps it alive
        clock.advance(minutes=25)
        assert (await web.get("/console", headers=HTML)).status_code == 200
    clock.advance(minutes=30)
    expired = await web.get("/console?tab=x", headers=HTML)
    assert expired.status_code == 303
    assert expired.headers["location"] == "/login?next=/console%3Ftab%3Dx"
    async with sessions() as session:
        assert (await session.scalars(sa.select(ConsoleSession))).all() == []

    # Sign in again (to where it was going), and stay busy until the 12 hours are up.
    signed = await sign_in(web, "ana@example.org", next_path="/console?tab=x")
    assert signed.headers["location"] == "/console?tab=x"
    for _ in range(12 * 60 // 20 - 1):
        clock.advance(minutes=20)
        assert (await web.get("/console", headers=HTML)).status_code == 200
    clock.advance(minutes=20)
    assert (await web.get("/console", headers=HTML)).status_code == 303


async def test_the_worker_forgets_dead_sessions_and_old_attempts(
    settings: Settings,
    engine: AsyncEngine,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await create(settings, "ana@example.org", "viewer")
    await create(settings, "ben@example.org", "viewer")
    async with browser(engine, clock) as idle, browser(engine, clock) as busy:
        assert (await sign_in(idle, "ana@example.org", "wrong password!")).status_code == 200
        assert (await sign_in(idle, "ana@example.org")).status_code == 303
        clock.advance(hours=23)
        assert (await sign_in(busy, "ben@example.org")).status_code == 303
        tidier = Tidier(sessions, AccessPolicy(), clock=clock)
        assert await tidier.tidy() == 1  # Ana's session, idle for 23 hours
        for _ in range(3):  # Ben stays busy past the day since Ana's attempts
            clock.advance(minutes=20, seconds=1)
            assert (await busy.get("/console", headers=HTML)).status_code == 200
        assert await tidier.tidy() == 2  # the two attempts of a day ago; Ben's session lives
    async with sessions() as session:
        left = (await session.scalars(sa.select(LoginAttempt))).all()
        assert [attempt.email for attempt in left] == ["ben@example.org"]
        assert len((await session.scalars(sa.select(ConsoleSession))).all()) == 1


async def test_next_is_only_a_path_of_this_site(settings: Settings, web: httpx.AsyncClient) -> None:
    await create(settings, "ana@example.org", "viewer")
    signed = await sign_in(web, "ana@example.org", next_path="//evil.example/x")
    assert signed.headers["location"] == "/console"


async def test_without_a_session_pages_redirect_and_other_requests_get_401(
    web: httpx.AsyncClient,
) -> None:
    page = await web.get("/console/users", headers=HTML)
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=/console/users"
    assert (await web.get("/console", headers={"accept": "application/json"})).status_code == 401
    assert (await web.post("/logout", data={"csrf_token": "x"})).status_code == 401
    # What was there stays as it was.
    assert (await web.get("/healthz")).json() == {"status": "ok"}
    assert (await web.get("/")).status_code == 200


async def test_only_admins_see_the_console_users(
    settings: Settings, engine: AsyncEngine, clock: Clock
) -> None:
    await create(settings, "ana@example.org", "admin")
    await create(settings, "val@example.org", "viewer")
    async with browser(engine, clock) as viewer:
        await sign_in(viewer, "val@example.org")
        refused = await viewer.get("/console/users", headers=HTML)
        assert refused.status_code == 403
        assert "Your role does not give access to this page." in refused.text
        assert "Console users" not in (await viewer.get("/console", headers=HTML)).text
    async with browser(engine, clock) as admin:
        await sign_in(admin, "ana@example.org")
        listed = await admin.get("/console/users", headers=HTML)
    assert listed.status_code == 200
    assert "<td>val@example.org</td><td>viewer</td><td>active</td>" in listed.text


async def test_a_coordinator_counts_only_their_own_clients(
    settings: Settings,
    engine: AsyncEngine,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        mine = StaffMember(name="Dana", role=StaffRole.coordinator)
        theirs = StaffMember(name="Lee", role=StaffRole.coordinator)
        session.add_all([mine, theirs])
        await session.flush()
        plan = [
            (mine.id, ClientState.active, [(Severity.high, AlertStatus.open)]),
            (mine.id, ClientState.active, [(Severity.critical, AlertStatus.acknowledged)]),
            (mine.id, ClientState.paused, [(Severity.high, AlertStatus.resolved)]),
            (theirs.id, ClientState.active, [(Severity.high, AlertStatus.open)]),
            (theirs.id, ClientState.active, [(Severity.low, AlertStatus.open)]),
            (None, ClientState.active, []),
        ]
        for n, (coordinator, state, alerts) in enumerate(plan):
            client = Client(
                code=f"C{n:04d}",
                first_name="X",
                timezone="UTC",
                state=state,
                coordinator_id=coordinator,
            )
            session.add(client)
            await session.flush()
            for severity, status in alerts:
                assert client.id is not None
                session.add(
                    Alert(
                        client_id=client.id,
                        kind=SignalKind.relapse,
                        severity=severity,
                        status=status,
                    )
                )
        await session.commit()
        mine_id = mine.id
    await create(settings, "dana@example.org", "coordinator", staff=mine_id)
    await create(settings, "ana@example.org", "admin")
    await create(settings, "nolink@example.org", "coordinator")

    def rows(html: str) -> dict[str, tuple[int, int]]:
        found = re.findall(r'<th scope="row">(\w+)</th><td>(\d+)</td><td>(\d+)</td>', html)
        return {severity: (int(a), int(b)) for severity, a, b in found}

    def active(html: str) -> int:
        found = re.search(r'<strong id="active-clients">(\d+)</strong>', html)
        assert found is not None
        return int(found.group(1))

    async with browser(engine, clock) as dana:
        await sign_in(dana, "dana@example.org")
        page = (await dana.get("/console", headers=HTML)).text
    assert rows(page)["critical"] == (0, 1)
    assert rows(page)["high"] == (1, 0)
    assert rows(page)["low"] == (0, 0)
    assert active(page) == 2
    assert "Your clients" in page

    async with browser(engine, clock) as ana:
        await sign_in(ana, "ana@example.org")
        page = (await ana.get("/console", headers=HTML)).text
    assert rows(page)["high"] == (2, 0)
    assert rows(page)["low"] == (1, 0)
    assert active(page) == 5

    async with browser(engine, clock) as unlinked:
        await sign_in(unlinked, "nolink@example.org")
        page = (await unlinked.get("/console", headers=HTML)).text
    assert active(page) == 0
    assert set(rows(page).values()) == {(0, 0)}
    assert "not linked to a staff member" in page


async def test_an_old_hash_is_upgraded_at_sign_in(
    settings: Settings, web: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await create(settings, "ana@example.org", "admin")
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    async with sessions() as session:
        await session.execute(sa.update(ConsoleUser).values(password_hash=weak))
        await session.commit()
    assert (await sign_in(web, "ana@example.org")).status_code == 303
    async with sessions() as session:
        stored = await session.scalar(sa.select(col(ConsoleUser.password_hash)))
    assert stored != weak
    assert stored is not None and stored.startswith("$argon2id$")
    assert not PasswordHasher().check_needs_rehash(stored)


async def test_a_user_changes_their_password_and_their_other_sessions_end(
    settings: Settings,
    engine: AsyncEngine,
    clock: Clock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await create(settings, "ana@example.org", "coordinator")
    new = "a longer new passphrase"
    async with browser(engine, clock) as here, browser(engine, clock) as elsewhere:
        assert (await sign_in(here, "ana@example.org")).status_code == 303
        assert (await sign_in(elsewhere, "ana@example.org")).status_code == 303
        page = await here.get("/console/account", headers=HTML)
        assert '<label for="new_password">' in page.text
        refusals = {
            ("not the password", new, new): "The current password is not right.",
            (PASSWORD, new, new + "!"): "The two new passwords differ.",
            (PASSWORD, "short", "short"): "at least 12 characters",
        }
        for (current, first, again), said in refusals.items():
            refused = await post(
                here,
                "/console/account/password",
                {"current_password": current, "new_password": first, "new_password_again": again},
            )
            assert refused.status_code == 400 and said in refused.text
        changed = await post(
            here,
            "/console/account/password",
            {"current_password": PASSWORD, "new_password": new, "new_password_again": new},
        )
        assert changed.status_code == 200 and "Your password is changed" in changed.text
        assert (await here.get("/console", headers=HTML)).status_code == 200
        assert (await elsewhere.get("/console", headers=HTML)).status_code == 303
    async with browser(engine, clock) as again:
        assert REFUSED in (await sign_in(again, "ana@example.org")).text
        assert (await sign_in(again, "ana@example.org", new)).status_code == 303
    async with sessions() as session:
        changes = await session.scalars(
            sa.select(AuditEntry).where(col(AuditEntry.action) == "console_user.password_changed")
        )
        assert [(entry.actor_kind, entry.detail) for entry in changes] == [
            ("console_user", {"sessions_ended": 1})
        ]


async def test_an_administrator_sets_a_forgotten_password(
    settings: Settings, web: httpx.AsyncClient
) -> None:
    await create(settings, "ana@example.org", "viewer")
    assert (await sign_in(web, "ana@example.org")).status_code == 303
    said = await users(settings, "password", "ana@example.org", "--password-stdin", stdin="x" * 12)
    assert said.endswith("(ana@example.org) has a new password.\n")
    assert (await web.get("/console", headers=HTML)).status_code == 303  # signed out
    assert (await sign_in(web, "ana@example.org", "x" * 12)).status_code == 303


async def test_users_list_and_disable(
    settings: Settings,
    web: httpx.AsyncClient,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await create(settings, "ana@example.org", "admin")
    assert (await sign_in(web, "ana@example.org")).status_code == 303
    listed = await users(settings, "list")
    assert re.fullmatch(
        r"\d+\tana@example\.org\tadmin\tactive\t-\t2026-11-26 09:00 UTC\n", listed
    ), listed

    assert (await users(settings, "disable", "ANA@example.org")).endswith("is disabled.\n")
    assert "\tdisabled\t" in await users(settings, "list")
    assert (await web.get("/console", headers=HTML)).status_code == 303  # session ended
    assert REFUSED in (await sign_in(web, "ana@example.org")).text
    async with sessions() as session:
        actions = list(
            await session.scalars(
                sa.select(col(AuditEntry.action))
                .where(col(AuditEntry.subject_type) == "console_user")
                .order_by(col(AuditEntry.id))
            )
        )
    assert actions == [
        "console_user.created",
        "console.login",
        "console_user.disabled",
        "console.login_failed",
    ]


@pytest.mark.parametrize(
    ("argv", "stdin", "message"),
    [
        (["--email", "a@example.org", "--role", "admin"], "short pass\n", "at least 12 char"),
        (["--email", "not-an-email", "--role", "admin"], PASSWORD + "\n", "not an email"),
        (["--email", "a@example.org", "--role", "admin", "--staff", "404"], PASSWORD, "staff"),
    ],
)
async def test_users_create_refuses_with_one_clear_message(
    settings: Settings, argv: list[str], stdin: str, message: str
) -> None:
    with pytest.raises(AftercareError, match=message):
        await cli.run(
            settings,
            parse("users", "create", *argv, "--password-stdin"),
            io.StringIO(),
            io.StringIO(stdin),
        )


def test_users_create_reads_the_password_from_stdin_as_a_command(settings: Settings) -> None:
    assert settings.database_url is not None
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AFTERCARE_")},
        "AFTERCARE_DATABASE_URL": settings.database_url.get_secret_value(),
    }

    def aftercare(*argv: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "service", "users", *argv],
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    made = aftercare(
        "create",
        "--email",
        "ana@example.org",
        "--role",
        "admin",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert made.returncode == 0, made.stderr
    assert re.fullmatch(r"Console user \d+ \(ana@example\.org, admin\) created\.\n", made.stdout)
    assert PASSWORD not in made.stdout + made.stderr
    short = aftercare(
        "create",
        "--email",
        "b@example.org",
        "--role",
        "viewer",
        "--password-stdin",
        stdin="too short\n",
    )
    assert short.returncode == 1
    assert short.stderr == "aftercare: A password needs at least 12 characters.\n"
    listed = aftercare("list")
    assert listed.returncode == 0
    assert "ana@example.org\tadmin\tactive" in listed.stdout
    assert "b@example.org" not in listed.stdout


async def test_an_email_is_one_account(settings: Settings) -> None:
    await create(settings, "ana@example.org", "admin")
    with pytest.raises(AftercareError, match="already"):
        await create(settings, "ANA@example.org", "viewer")


async def test_the_passwords_typed_at_the_prompt_must_agree(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    typed = iter([PASSWORD, PASSWORD + "x"])
    monkeypatch.setattr(cli.getpass, "getpass", lambda prompt: next(typed))
    with pytest.raises(AftercareError, match="differ"):
        await cli.run(
            settings,
            parse("users", "create", "--email", "a@example.org", "--role", "admin"),
            io.StringIO(),
        )


@pytest.mark.parametrize(
    ("trusted", "seen"), [("127.0.0.1", "203.0.113.9"), ("10.0.0.1", "127.0.0.1")]
)
async def test_the_web_role_believes_only_a_trusted_proxys_forwarded_address(
    services: Services, sessions: async_sessionmaker[AsyncSession], trusted: str, seen: str
) -> None:
    port = free_port()
    settings = services.settings.model_copy(update={"web_port": port, "trusted_proxies": trusted})
    async with (
        service_running(replace(services, settings=settings), ("web",)),
        httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", headers={"X-Forwarded-For": "203.0.113.9"}
        ) as web,
    ):
        await eventually(lambda: _up(web), True, within=10)
        assert REFUSED in (await sign_in(web, "nobody@example.org", "a wrong password")).text
    async with sessions() as session:
        addresses = list(await session.scalars(sa.select(LoginAttempt.ip)))
    assert addresses == [seen]


async def _up(web: httpx.AsyncClient) -> bool:
    try:
        return (await web.get("/healthz")).status_code == 200
    except httpx.TransportError:
        return False
