"""A small client for the sandbox's control API: act as Telegram users over HTTP and read back
what the bot did.

    async with SandboxClient(server.base_url) as telegram:
        await telegram.send_text(42, "/start invite-token")
        [reply] = await telegram.wait_for_messages(42, count=1)
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any, Self

import aiohttp

JSON = dict[str, Any]


class SandboxControlError(Exception):
    """The control API refused a request (unknown chat, no such button, bad input)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class SandboxClient:
    """Control API client. Close it (or use `async with`) to release its HTTP session."""

    def __init__(self, base_url: str, *, request_timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._request_timeout = request_timeout
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _request(
        self,
        method: str,
        path: str,
        body: JSON | None = None,
        query: dict[str, str] | None = None,
        request_timeout: float | None = None,
    ) -> Any:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        async with self._session.request(
            method,
            f"{self.base_url}/control/{path}",
            json=body,
            params=query,
            timeout=aiohttp.ClientTimeout(total=request_timeout or self._request_timeout),
        ) as response:
            payload = await response.json()
            if response.status >= 400:
                raise SandboxControlError(response.status, str(payload.get("error", payload)))
            return payload

    async def wait_until_up(self, within: float = 30.0) -> None:
        """Wait for a sandbox that is still starting (in another process, say) to answer."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            try:
                await self.users()
                return
            except aiohttp.ClientConnectionError:
                if loop.time() > deadline:
                    raise
                await asyncio.sleep(0.1)

    # --- the world -----------------------------------------------------------------------

    async def reset(self) -> None:
        """Forget all users, chats, updates, webhook, commands, recorded calls and faults."""
        await self._request("POST", "reset")

    async def ensure_user(
        self,
        user_id: int,
        first_name: str | None = None,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
        has_started: bool = True,
    ) -> JSON:
        """Create a user with their private chat (chat id = user id), or update their fields.
        With `has_started=False` the bot gets 403 until the user writes first."""
        body = {
            "id": user_id,
            "first_name": first_name,
            "last_name": last_name,
            "username": username,
            "language_code": language_code,
            "has_started": has_started,
        }
        result: JSON = await self._request("POST", "users", _without_none(body))
        return result

    async def users(self) -> list[JSON]:
        result: list[JSON] = await self._request("GET", "users")
        return result

    async def create_group(
        self,
        chat_id: int,
        title: str,
        member_ids: list[int],
        *,
        chat_type: str = "group",
        added_by: int | None = None,
    ) -> JSON:
        """Create a group chat (negative id) with the bot and these members in it."""
        body = {
            "id": chat_id,
            "title": title,
            "member_ids": member_ids,
            "type": chat_type,
            "added_by": added_by,
        }
        result: JSON = await self._request("POST", "groups", _without_none(body))
        return result

    async def chats(self) -> list[JSON]:
        result: list[JSON] = await self._request("GET", "chats")
        return result

    # --- acting as a user ----------------------------------------------------------------

    async def send_text(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        reply_to_message_id: int | None = None,
    ) -> JSON:
        """The user writes `text` (in their private chat unless `chat_id` names a group).
        Returns the update the bot will get; `update["message"]["message_id"]` is the id."""
        body = {
            "user_id": user_id,
            "text": text,
            "chat_id": chat_id,
            "reply_to_message_id": reply_to_message_id,
        }
        return await self._send("text", body)

    async def send_sticker(
        self, user_id: int, emoji: str = "👍", *, chat_id: int | None = None
    ) -> JSON:
        return await self._send("sticker", {"user_id": user_id, "emoji": emoji, "chat_id": chat_id})

    async def send_voice(
        self, user_id: int, duration: int = 3, *, chat_id: int | None = None
    ) -> JSON:
        body = {"user_id": user_id, "duration": duration, "chat_id": chat_id}
        return await self._send("voice", body)

    async def send_photo(
        self, user_id: int, caption: str | None = None, *, chat_id: int | None = None
    ) -> JSON:
        body = {"user_id": user_id, "caption": caption, "chat_id": chat_id}
        return await self._send("photo", body)

    async def edit_text(
        self, user_id: int, message_id: int, text: str, *, chat_id: int | None = None
    ) -> JSON:
        """The user edits one of their text messages (an `edited_message` update)."""
        body = {"user_id": user_id, "message_id": message_id, "text": text, "chat_id": chat_id}
        return await self._send("edit", body)

    async def _send(self, kind: str, body: JSON) -> JSON:
        result: JSON = await self._request("POST", f"messages/{kind}", _without_none(body))
        return result

    async def press_button(
        self, user_id: int, message_id: int, data: str, *, chat_id: int | None = None
    ) -> JSON:
        """The user presses the inline button with callback `data` under bot message
        `message_id`. Returns the `callback_query` update."""
        body = {"user_id": user_id, "message_id": message_id, "data": data, "chat_id": chat_id}
        result: JSON = await self._request("POST", "callbacks", _without_none(body))
        return result

    async def block(self, user_id: int) -> JSON | None:
        """The user blocks the bot; returns the `my_chat_member` update (None if already)."""
        result: JSON = await self._request("POST", f"users/{user_id}/block")
        update: JSON | None = result["update"]
        return update

    async def unblock(self, user_id: int) -> JSON | None:
        result: JSON = await self._request("POST", f"users/{user_id}/unblock")
        update: JSON | None = result["update"]
        return update

    # --- what the bot did ----------------------------------------------------------------

    async def messages(self, chat_id: int, *, sender: str = "all") -> list[JSON]:
        """Messages of a chat in order (`sender`: "all", "bot" or "users"), edits applied."""
        result: list[JSON] = await self._request(
            "GET", f"chats/{chat_id}/messages", query={"sender": sender}
        )
        return result

    async def sent_messages(self, chat_id: int) -> list[JSON]:
        """What the bot sent to a chat: text (as shown), source_text, parse_mode,
        reply_markup, message_id, edited, deleted..."""
        return await self.messages(chat_id, sender="bot")

    async def wait_for_messages(
        self,
        chat_id: int,
        count: int,
        timeout: float = 5.0,  # noqa: ASYNC109 - the server does the waiting
    ) -> list[JSON]:
        """Wait until the bot has sent at least `count` messages to the chat; raise
        TimeoutError if it has not within `timeout` seconds."""
        result: list[JSON] = await self._request(
            "GET",
            f"chats/{chat_id}/messages",
            query={"sender": "bot", "min_count": str(count), "timeout": str(timeout)},
            request_timeout=timeout + self._request_timeout,
        )
        if len(result) < count:
            raise TimeoutError(
                f"the bot sent {len(result)} of {count} messages to chat {chat_id} in {timeout}s"
            )
        return result

    async def calls(self, method: str | None = None) -> list[JSON]:
        """Recorded Bot API calls (method, params, status, ok, description, at)."""
        query = {"method": method} if method else None
        result: list[JSON] = await self._request("GET", "calls", query=query)
        return result

    async def callback_answers(self) -> list[JSON]:
        result: list[JSON] = await self._request("GET", "callback-answers")
        return result

    async def pending_updates(self) -> list[JSON]:
        result: list[JSON] = await self._request("GET", "updates")
        return result

    async def webhook(self) -> JSON:
        """getWebhookInfo plus the secret token and how many updates were delivered."""
        result: JSON = await self._request("GET", "webhook")
        return result

    async def commands(self) -> list[JSON]:
        """Every stored command list as {scope, language_code, commands}."""
        result: list[JSON] = await self._request("GET", "commands")
        return result

    # --- faults and limits ---------------------------------------------------------------

    async def fail_next(
        self,
        method: str,
        status: int,
        count: int = 1,
        *,
        retry_after: int | None = None,
        description: str | None = None,
    ) -> None:
        """Fail the next `count` calls of Bot API `method` ("*" for any) with `status`;
        429 carries `retry_after` (default 1)."""
        body = {
            "method": method,
            "status": status,
            "count": count,
            "retry_after": retry_after,
            "description": description,
        }
        await self._request("POST", "faults", _without_none(body))

    async def clear_faults(self) -> None:
        await self._request("DELETE", "faults")

    async def set_rate_limits(self, enabled: bool = True, **limits: float | int | None) -> JSON:
        """Replace the flood limits (fields of RateLimits), or disable them with
        `enabled=False`."""
        result: JSON = await self._request("POST", "rate-limits", {"enabled": enabled, **limits})
        return result


def _without_none(body: JSON) -> JSON:
    return {key: value for key, value in body.items() if value is not None}
