"""Every table, imported in one place so that ``SQLModel.metadata`` knows the whole schema."""

from __future__ import annotations

from sqlmodel import SQLModel

from service.alerts.models import Alert, AlertEvent
from service.audit.models import AuditEntry
from service.checkins.models import CadenceChange, Checkin
from service.clients.models import Client, ConsentRecord, Invite, Program
from service.console.models import ConsoleSession, LoginAttempt
from service.content.models import Template, TemplateVersion
from service.conversations.models import ConversationState, InboundMessage
from service.outbox.models import OutboxMessage
from service.signals.models import Signal
from service.staff.models import ConsoleUser, StaffMember

metadata = SQLModel.metadata

__all__ = [
    "Alert",
    "AlertEvent",
    "AuditEntry",
    "CadenceChange",
    "Checkin",
    "Client",
    "ConsentRecord",
    "ConsoleSession",
    "ConsoleUser",
    "ConversationState",
    "InboundMessage",
    "Invite",
    "LoginAttempt",
    "OutboxMessage",
    "Program",
    "Signal",
    "StaffMember",
    "Template",
    "TemplateVersion",
    "metadata",
]
