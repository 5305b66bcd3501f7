"""A local stand-in for the Telegram Bot API, with a control API to play the users.

`SandboxServer` speaks the Bot API subset the service uses over HTTP (so the bot runs on aiogram's
real HTTP session); `SandboxClient` drives the control API from tests or tools.
"""

from service.sandbox.client import SandboxClient, SandboxControlError
from service.sandbox.flood import RateLimits
from service.sandbox.server import SandboxServer

__all__ = ["RateLimits", "SandboxClient", "SandboxControlError", "SandboxServer"]
