"""Using the console over HTTP, as a browser would: the app on an ASGI transport with a test
clock, console users made with the `aftercare users` command's own function, signing in, and
posting forms with the page's CSRF token.

    await create(settings, "ana@example.org", "admin")
    async with signed_in(engine, clock, "ana@example.org") as web:
        page = await web.get("/console/alerts", headers=HTML)
        done = await post(web, "/console/alerts/1/acknowledge")
"""

from __future__ import annotations

import argparse
import io
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from service.config import Settings
from service.console import cli
from service.web.app import create_app
from service.web.console import ConsoleConfig

PASSWORD = "correct horse battery"
START = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
HTML = {"accept": "text/html"}


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def parse(*argv: str) -> argparse.Namespace:
    root = argparse.ArgumentParser(prog="aftercare")
    cli.add_parser(root.add_subparsers(dest="command", required=True))
    return root.parse_args(argv)


async def users(settings: Settings, *argv: str, stdin: str = "") -> str:
    out = io.StringIO()
    assert await cli.run(settings, parse("users", *argv), out, io.StringIO(stdin)) == 0
    return out.getvalue()


async def create(
    settings: Settings, email: str, role: str, *, staff: int | None = None, password: str = PASSWORD
) -> None:
    """A console user, made as `aftercare users create ... --password-stdin` makes one."""
    extra = ["--staff", str(staff)] if staff is not None else []
    said = await users(
        settings,
        "create",
        "--email",
        email,
        "--role",
        role,
        *extra,
        "--password-stdin",
        stdin=password + "\n",
    )
    assert said.endswith(f"({email.lower()}, {role}) created.\n")


def browser(
    engine: AsyncEngine,
    clock: Clock,
    *,
    ip: str = "192.0.2.10",
    config: ConsoleConfig | None = None,
    base_url: str = "http://console.test",
    sandbox_url: str | None = None,
) -> httpx.AsyncClient:
    app = create_app(engine, console=config or ConsoleConfig(clock=clock), sandbox_url=sandbox_url)
    transport = httpx.ASGITransport(app=app, client=(ip, 50000))
    return httpx.AsyncClient(transport=transport, base_url=base_url)


async def login_form(web: httpx.AsyncClient, path: str = "/login") -> str:
    page = await web.get(path, headers=HTML)
    assert page.status_code == 200
    found = CSRF_FIELD.search(page.text)
    assert found is not None
    return found.group(1)


async def sign_in(
    web: httpx.AsyncClient, email: str, password: str = PASSWORD, *, next_path: str = ""
) -> httpx.Response:
    token = await login_form(web)
    form = {"csrf_token": token, "email": email, "password": password, "next": next_path}
    return await web.post("/login", data=form)


@asynccontextmanager
async def signed_in(
    engine: AsyncEngine,
    clock: Clock,
    email: str,
    *,
    config: ConsoleConfig | None = None,
    sandbox_url: str | None = None,
) -> AsyncIterator[httpx.AsyncClient]:
    """A browser signed in as an existing console user (see `create`)."""
    async with browser(engine, clock, config=config, sandbox_url=sandbox_url) as web:
        signed = await sign_in(web, email)
        assert signed.status_code == 303, signed.text
        yield web


async def csrf_of(web: httpx.AsyncClient, page: str = "/console") -> str:
    shown = await web.get(page, headers=HTML)
    assert shown.status_code == 200
    found = CSRF_FIELD.search(shown.text)
    assert found is not None
    return found.group(1)


async def post(
    web: httpx.AsyncClient, path: str, data: dict[str, str] | None = None
) -> httpx.Response:
    """A console form posted with the session's CSRF token, as the page's form would."""
    return await web.post(path, data={"csrf_token": await csrf_of(web), **(data or {})})
