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

from playwright.async_api import Page
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
        async with asyncio.TaskGroup() as group:
            serving = group.create_task(server.serve(sockets=[listener]))
            try:
                while not server.started:
                    if serving.done():
                        return  # the task group raises what stopped it
                    await asyncio.sleep(0.01)
                yield f"http://127.0.0.1:{port}"
            finally:
                server.should_exit = True


async def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    """Sign in through the login form, as a person would, and land on the console."""
    await page.goto("/login")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/console")


async def snapshot(page: Page, name: str) -> None:
    """A full-page screenshot for the docs, when AFTERCARE_SCREENSHOTS names a folder."""
    folder = os.environ.get("AFTERCARE_SCREENSHOTS")
    if folder:  # Playwright makes the folder
        await page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)
