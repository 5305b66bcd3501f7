"""Where alerts go and what they carry, as a deployment configures it (pure data, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from service.alerts.ladder import DEFAULT_LADDER, Ladder


@dataclass(frozen=True)
class AlertRouting:
    """Made once per process from the settings (``Settings.alert_routing``) and carried by
    ``Messaging``, so that every path that raises an alert routes it the same way."""

    team_chat_id: int | None = None  # the care team's group chat, told of every alert
    message_text: bool = False  # the client's words in the Telegram alert (off: code and reason)
    tell_client_when_seen: bool = False  # a word to the client when someone acknowledges
    ladder: Ladder = field(default_factory=lambda: DEFAULT_LADDER)
    timezone: str = "America/New_York"  # working days, and times shown on alerts
    team_language: str = "en"  # the team chat's language

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)
