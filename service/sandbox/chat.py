"""``aftercare sandbox chat``: be an alumnus in a terminal, talking to the bot in the sandbox.

Everything goes through the sandbox's control API, so the bot cannot tell this person from a
Telegram user: lines typed are the user's messages, ``#N`` presses an inline button, and the chat
is read back every ``POLL_SECONDS`` so that the bot's messages show up while the user is idle.
"""

from __future__ import annotations

import asyncio
import re
import sys
import threading
from contextlib import suppress
from itertools import count
from typing import Any, TextIO

import aiohttp

from service.errors import AftercareError
from service.sandbox.client import JSON, SandboxClient, SandboxControlError

POLL_SECONDS = 0.3
BUTTON = re.compile(r"#(\d+)(?:@(\d+))?")
INDENT = " " * 5
HELP = """\
Type a message and press Enter to send it (/commands too). Also:
  #N  #N@ID       press button N of the latest message with buttons (or of message ID)
  :sticker [emoji]  :voice [seconds]  :photo [caption]   send one of those
  :block  :unblock  block or unblock the bot
  :help  :quit      this help; leave (Ctrl-D and Ctrl-C leave too)
  \\#1              a leading backslash sends the rest as it is"""


class Output:
    """Where the conversation is shown: standard output, flushed line by line."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout

    def line(self, text: str = "") -> None:
        self.stream.write(text + "\n")
        self.stream.flush()


def run(url: str, user_id: int, name: str | None, language: str | None) -> int:
    """The command: 0 when the person leaves (``:quit``, end of input or Ctrl-C)."""
    out = Output()
    try:
        asyncio.run(chat(url, user_id, name, language, out))
    except KeyboardInterrupt:
        out.line()
    return 0


async def chat(url: str, user_id: int, name: str | None, language: str | None, out: Output) -> None:
    connected = False
    async with SandboxClient(url, request_timeout=10) as client:
        try:
            await client.ensure_user(user_id, name, language_code=language)
            connected = True
            out.line(f"Chatting as user {user_id} in the sandbox at {url}.")
            out.line(HELP)
            await ChatSession(client, user_id, out).loop(read_lines())
        except (aiohttp.ClientError, TimeoutError):
            what = "Lost the sandbox" if connected else "No sandbox Bot API answers"
            raise AftercareError(f"{what} at {url}. Is `aftercare run` running?") from None
        except SandboxControlError as error:
            raise AftercareError(f"The sandbox at {url} refused: {error.message}") from None


def read_lines() -> asyncio.Queue[str | None]:
    """Lines of standard input, read by a daemon thread (so that a blocked read never holds up
    exit); None marks the end of input."""
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str | None] = asyncio.Queue()

    def put(line: str | None) -> None:
        with suppress(RuntimeError):  # the loop has closed: the chat is over
            loop.call_soon_threadsafe(lines.put_nowait, line)

    def read() -> None:
        for line in sys.stdin:
            put(line.rstrip("\r\n"))
        put(None)

    threading.Thread(target=read, name="stdin", daemon=True).start()
    return lines


class ChatSession:
    """Shows the chat as it grows and acts on what the person types."""

    def __init__(self, client: SandboxClient, user_id: int, out: Output) -> None:
        self.client = client
        self.user_id = user_id
        self.out = out
        self.messages: dict[int, JSON] = {}

    async def loop(self, lines: asyncio.Queue[str | None]) -> None:
        await self.refresh()
        while True:
            try:
                async with asyncio.timeout(POLL_SECONDS):
                    line = await lines.get()
            except TimeoutError:
                await self.refresh()
                continue
            if line is None or not await self.handle(line):
                return
            await self.refresh()

    async def refresh(self) -> None:
        """Show messages that are new, or changed (edited, deleted) since last shown."""
        for message in await self.client.messages(self.user_id):
            before = self.messages.get(message["message_id"])
            if before is not None and _shown(before) == _shown(message):
                continue
            self.messages[message["message_id"]] = message
            if message["deleted"]:
                self.out.line(f"({_sender(message)} deleted a message)")
                continue
            note = " (edited)" if before is not None else ""
            self.out.line(f"{_sender(message)}{note}: {_indented(describe(message))}")
            for row in _keyboard(message):
                self.out.line(INDENT + row)

    async def handle(self, line: str) -> bool:
        """Act on one typed line; False to leave."""
        line = line.strip()
        try:
            if line.startswith(":"):
                return await self.command(*line.partition(" ")[::2])
            if match := BUTTON.fullmatch(line):
                await self.press(int(match[1]), int(match[2]) if match[2] else None)
            elif line:
                await self.client.send_text(self.user_id, line.removeprefix("\\"))
        except SandboxControlError as error:
            self.out.line(f"! the sandbox refused: {error.message}")
        return True

    async def command(self, name: str, rest: str) -> bool:
        rest = rest.strip()
        if name in (":quit", ":q", ":exit"):
            return False
        if name == ":help":
            self.out.line(HELP)
        elif name == ":sticker":
            await self.client.send_sticker(self.user_id, rest or "👍")
        elif name == ":voice":
            await self.client.send_voice(self.user_id, int(rest) if rest.isdigit() else 3)
        elif name == ":photo":
            await self.client.send_photo(self.user_id, rest or None)
        elif name == ":block":
            await self.client.block(self.user_id)
            self.out.line("(you blocked the bot; :unblock or writing to it undoes that)")
        elif name == ":unblock":
            await self.client.unblock(self.user_id)
            self.out.line("(you unblocked the bot)")
        else:
            self.out.line(f"! {name} is not a command here; :help lists them")
        return True

    async def press(self, number: int, message_id: int | None) -> None:
        if message_id is None:
            with_buttons = [m for m in self.messages.values() if _buttons(m) and not m["deleted"]]
            if not with_buttons:
                self.out.line("! no message has buttons")
                return
            message_id = with_buttons[-1]["message_id"]
        buttons = _buttons(self.messages.get(message_id, {}))
        if not 1 <= number <= len(buttons):
            self.out.line(f"! message {message_id} has no button {number}")
            return
        button = buttons[number - 1]
        if "callback_data" in button:
            await self.client.press_button(self.user_id, message_id, button["callback_data"])
        elif "url" in button:
            self.out.line(f"(that button opens {button['url']})")
        else:
            self.out.line("! that kind of button cannot be pressed here")


def _shown(message: JSON) -> tuple[Any, ...]:
    return (message["text"], message["caption"], message["reply_markup"], message["deleted"])


def _sender(message: JSON) -> str:
    return "bot" if message["from_bot"] else "you"


def describe(message: JSON) -> str:
    """A message as text: the bot's as Telegram shows it (HTML already parsed by the sandbox, so
    no tags and no &amp;), media as a bracketed note."""
    kind, media, caption = message["kind"], message["media"] or {}, message["caption"]
    if kind == "text":
        return str(message["text"] or "")
    if kind == "sticker":
        note = f"[sticker {media.get('sticker', {}).get('emoji', '')}]"
    elif kind == "voice":
        note = f"[voice message, {media.get('voice', {}).get('duration', '?')} s]"
    else:
        note = f"[{kind}]"
    return f"{note} {caption}" if caption else note


def _indented(text: str) -> str:
    return text.replace("\n", "\n" + INDENT)


def _buttons(message: JSON) -> list[JSON]:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
    return [button for row in rows for button in row]


def _keyboard(message: JSON) -> list[str]:
    """The message's buttons, a line a row, numbered on: ``[1] I agree  [2] Not now``."""
    markup = message["reply_markup"] or {}
    if rows := markup.get("inline_keyboard"):
        numbers = count(1)
        lines = [
            "  ".join(
                f"[{next(numbers)}] {button['text']}" + (" ↗" if "url" in button else "")
                for button in row
            )
            for row in rows
        ]
        lines[-1] += f"   (message {message['message_id']})"
        return lines
    if rows := markup.get("keyboard"):
        labels = [b if isinstance(b, str) else str(b.get("text")) for row in rows for b in row]
        return ["keyboard: " + " | ".join(labels)]
    return []
