"""A real browser on the real console: the app served by uvicorn on a local port (as the web role
serves it), and Debian's Chromium driven headless by Playwright.

    async with console_served(engine, config) as base_url:
        page = await chromium.new_page(base_url=base_url)
        await sign_in(page, "ana@example.org")

Screenshots of what the tests see are written to ``AFTERCARE_SCREENSHOTS`` when it names a
folder (``make screenshots`` sets it to docs/screenshots); otherwise nowhere.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from playwright.async_api import FloatRect, Page
from sqlalchemy.ext.asyncio import AsyncEngine

from service.runtime import _Server, listen
from service.web.app import create_app
from service.web.console import ConsoleConfig
from tests.console import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking"]


@asynccontextmanager
async def console_served(
    engine: AsyncEngine, config: ConsoleConfig, *, sandbox_url: str | None = None
) -> AsyncIterator[str]:
    """The console on 127.0.0.1 (a free port) while the block runs; its base URL."""
    import uvicorn

    app = create_app(engine, console=config, sandbox_url=sandbox_url)
    listener = listen("127.0.0.1", 0)
    port = listener.getsockname()[1]
    server = _Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
    with listener:
        # Not a task group: a failing test's own error then reaches pytest as it is, not
        # wrapped in an exception group.
        serving = asyncio.get_running_loop().create_task(server.serve(sockets=[listener]))
        try:
            while not server.started:
                if serving.done():
                    serving.result()  # raises what stopped it
                    raise RuntimeError("the console stopped before it started")
                await asyncio.sleep(0.01)
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            await serving


async def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    """Sign in through the login form, as a person would, and land on the console."""
    await page.goto("/login")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/console")


async def snapshot(page: Page, name: str, *, max_height: int = 2000) -> None:
    """A full-page screenshot for the docs, when AFTERCARE_SCREENSHOTS names a folder: the page
    as tall as it is, down to ``max_height`` CSS pixels (a long timeline would be megabytes)."""
    folder = os.environ.get("AFTERCARE_SCREENSHOTS")
    if not folder:
        return
    width, height = await page.evaluate(
        "[document.documentElement.clientWidth, document.documentElement.scrollHeight]"
    )
    clip = FloatRect(x=0, y=0, width=width, height=min(height, max_height))
    await page.screenshot(  # Playwright makes the folder
        path=str(Path(folder) / f"{name}.png"), full_page=True, clip=clip, animations="disabled"
    )
