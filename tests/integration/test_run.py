"""`aftercare run` with nothing configured: embedded PostgreSQL, the sandbox, every role."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import URL

from service.sandbox.client import SandboxClient
from service.telegram import SANDBOX_TOKEN, SANDBOX_USERNAME, Telegram

ROOT = Path(__file__).resolve().parents[2]
# A hang detector, not a speed check: four roles importing at once on a loaded 2-core machine
# can take a while.
READY_WITHIN_SECONDS = 60  # inside the suite's 120 s per test


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A fresh data dir that the embedded server's own system user can reach."""
    (ROOT / "var").mkdir(exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="run-", dir=ROOT / "var"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def environment(data_dir: Path, **extra: str) -> dict[str, str]:
    clean = {key: value for key, value in os.environ.items() if not key.startswith("AFTERCARE_")}
    return {**clean, "AFTERCARE_DATA_DIR": str(data_dir), **extra}


async def test_run_comes_up_with_nothing_configured_and_enrols_a_client(data_dir: Path) -> None:
    web_port, sandbox_port = free_port(), free_port()
    env = environment(
        data_dir, AFTERCARE_WEB_PORT=str(web_port), AFTERCARE_SANDBOX_PORT=str(sandbox_port)
    )
    service = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "service", "run",
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{web_port}") as web:
            await _until_ready(web, [service])
            assert (await web.get("/readyz")).json()["status"] == "ready"

        sandbox_url = f"http://127.0.0.1:{sandbox_port}"
        bot = Telegram(SANDBOX_TOKEN, sandbox_url).bot()
        try:
            me = await bot.get_me()
        finally:
            await bot.session.close()
        assert me.username == SANDBOX_USERNAME

        invite = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "service", "invite", "client", "--name", "Sam", "--json",
            env=env, stdout=subprocess.PIPE,
        )  # fmt: skip
        printed, _ = await invite.communicate()
        token = json.loads(printed)["token"]
        async with SandboxClient(sandbox_url) as telegram:
            await telegram.ensure_user(3001, "Sam", language_code="en")
            await telegram.send_text(3001, f"/start {token}")
            [welcome] = await telegram.wait_for_messages(3001, 1, timeout=10)
        assert "Hi Sam" in welcome["text"]
    finally:
        with suppress(ProcessLookupError):
            service.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            printed, _ = await service.communicate()
    output = printed.decode()
    assert service.returncode == 0, output
    assert f"Console: http://127.0.0.1:{web_port}/" in output
    assert f"Sandbox Bot API: http://127.0.0.1:{sandbox_port}" in output
    assert "Traceback" not in output
    assert token not in output  # no credentials or message text in the logs


async def test_the_roles_run_as_separate_processes(data_dir: Path, database_url: URL) -> None:
    """One process per role, as in docker/compose.yaml: sandbox, bot, worker and web."""
    web_port, sandbox_port = free_port(), free_port()
    env = environment(
        data_dir,
        AFTERCARE_DATABASE_URL=database_url.render_as_string(hide_password=False),
        AFTERCARE_WEB_PORT=str(web_port),
        AFTERCARE_SANDBOX_PORT=str(sandbox_port),
    )
    roles = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "service",
            role,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for role in ("sandbox", "bot", "worker", "web")
    ]
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{web_port}") as web:
            await _until_ready(web, roles)
        async with SandboxClient(f"http://127.0.0.1:{sandbox_port}") as telegram:
            await telegram.wait_until_up()
            await telegram.ensure_user(3002, "Kim", language_code="es")
            await telegram.send_text(3002, "/start")
            [answer] = await telegram.wait_for_messages(3002, 1, timeout=20)
        assert "usa el enlace de invitación" in answer["text"]
    finally:
        for role in roles:
            with suppress(ProcessLookupError):  # one that already stopped
                role.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            outputs = [(await role.communicate())[0].decode() for role in roles]
    for role, output in zip(roles, outputs, strict=True):
        assert role.returncode == 0, output
        assert "Traceback" not in output


async def _until_ready(web: httpx.AsyncClient, processes: list[asyncio.subprocess.Process]) -> None:
    started = time.monotonic()
    while True:
        assert all(process.returncode is None for process in processes), "a role stopped"
        assert time.monotonic() - started < READY_WITHIN_SECONDS, "not ready in time"
        try:
            if (await web.get("/readyz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.2)


def test_a_taken_port_is_one_clear_line(data_dir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "service", "run"],
            env=environment(
                data_dir, AFTERCARE_SANDBOX_PORT=str(port), AFTERCARE_WEB_PORT=str(free_port())
            ),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 1
    assert f"Cannot start the sandbox Bot API on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr
