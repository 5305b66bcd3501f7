"""``aftercare sandbox chat``, run as a person would run it, against an in-process sandbox where
the test plays the bot."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from service.__main__ import parser
from service.sandbox.client import JSON, SandboxClient
from service.sandbox.server import SandboxServer

ROOT = Path(__file__).resolve().parents[2]
USER = 5001


async def start_chat(*args: str) -> asyncio.subprocess.Process:
    clean = {key: value for key, value in os.environ.items() if not key.startswith("AFTERCARE_")}
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "service", "sandbox", "chat", *args,
        cwd=ROOT,
        env=clean,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


@pytest.fixture
async def chat(sandbox: SandboxServer) -> AsyncIterator[asyncio.subprocess.Process]:
    process = await start_chat("--user", str(USER), "--name", "Sam", "--url", sandbox.base_url)
    yield process
    if process.returncode is None:
        process.kill()
        async with asyncio.timeout(10):
            await process.communicate()


async def read_until(process: asyncio.subprocess.Process, needle: str) -> str:
    """Lines of the chat's output up to and including the first that holds `needle`."""
    assert process.stdout is not None
    seen = ""
    async with asyncio.timeout(20):
        while needle not in seen:
            line = await process.stdout.readline()
            assert line, f"the chat ended before showing {needle!r}; it showed:\n{seen}"
            seen += line.decode()
    return seen


async def type_line(process: asyncio.subprocess.Process, line: str) -> None:
    assert process.stdin is not None
    process.stdin.write(f"{line}\n".encode())
    await process.stdin.drain()


async def updates_of(telegram: SandboxClient, kind: str) -> list[JSON]:
    async with asyncio.timeout(10):
        while True:
            found = [update[kind] for update in await telegram.pending_updates() if kind in update]
            if found:
                return found
            await asyncio.sleep(0.05)


async def test_a_person_reads_the_bot_presses_a_button_writes_and_leaves(
    sandbox: SandboxServer,
    telegram: SandboxClient,
    chat: asyncio.subprocess.Process,
) -> None:
    await read_until(chat, ":quit")  # the help, once the user exists
    [user] = await telegram.users()
    assert (user["id"], user["first_name"]) == (USER, "Sam")

    status, sent = await sandbox.call(
        "sendMessage",
        {
            "chat_id": USER,
            "text": "Before we start, <b>how this works</b> &amp; more.\nSecond line.",
            "parse_mode": "HTML",
            "reply_markup": {
                "inline_keyboard": [
                    [
                        {"text": "I agree", "callback_data": "consent:1"},
                        {"text": "Not now", "callback_data": "consent:0"},
                    ]
                ]
            },
        },
    )
    assert status == 200, sent
    shown = await read_until(chat, "[1] I agree  [2] Not now")
    assert "bot: Before we start, how this works & more.\n" in shown
    assert "     Second line.\n" in shown

    await type_line(chat, "#1")
    [query] = await updates_of(telegram, "callback_query")
    assert query["data"] == "consent:1"
    assert query["message"]["message_id"] == sent["result"]["message_id"]

    await type_line(chat, "hello")
    assert "you: hello" in await read_until(chat, "you: hello")
    assert [m["text"] for m in await telegram.messages(USER, sender="users")] == ["hello"]

    await type_line(chat, ":quit")
    async with asyncio.timeout(10):
        _, errors = await chat.communicate()
    assert chat.returncode == 0, errors.decode()
    assert errors == b""


async def test_the_end_of_input_ends_the_chat(chat: asyncio.subprocess.Process) -> None:
    async with asyncio.timeout(20):
        output, errors = await chat.communicate(b"")  # closes stdin: end of input
    assert chat.returncode == 0, errors.decode()
    assert b"Chatting as user 5001" in output
    assert errors == b""


async def test_an_unreachable_sandbox_is_one_line_on_stderr() -> None:
    process = await start_chat("--user", str(USER), "--url", "http://127.0.0.1:1")
    async with asyncio.timeout(20):
        output, errors = await process.communicate()
    assert process.returncode == 1
    assert output == b""
    assert errors.decode().count("\n") == 1
    assert "Is `aftercare run` running?" in errors.decode()
    assert b"Traceback" not in errors


def test_the_sandbox_alone_still_serves() -> None:
    assert parser().parse_args(["sandbox"]).action is None
    assert parser().parse_args(["sandbox", "serve"]).action == "serve"
    chat = parser().parse_args(["sandbox", "chat", "--user", "5001", "--lang", "es"])
    assert (chat.action, chat.user, chat.lang, chat.url) == ("chat", 5001, "es", None)
