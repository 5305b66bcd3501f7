"""Answers past a threshold become signals, and the urgent ones alerts for the care team."""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from service.checkins.models import Checkin
from service.clients.models import Client
from service.content.service import Messaging
from service.signals.models import Severity, SignalKind
from service.signals.service import record_signal

_COMPARISONS: Final[dict[str, Callable[[int, int], bool]]] = {
    ">=": operator.ge,
    "<=": operator.le,
}


@dataclass(frozen=True)
class Threshold:
    """An answer the care team should hear about: ``question``'s answer ``rule`` ``value``."""

    question: str
    rule: str  # a key of _COMPARISONS
    value: int
    kind: SignalKind
    severity: Severity

    def crossed_by(self, answer: int) -> bool:
        return _COMPARISONS[self.rule](answer, self.value)


# The 0-10 scales of check-ins: a craving spike, low mood, low confidence.
SCALES: Final = (
    Threshold("craving", ">=", 8, SignalKind.craving, Severity.medium),
    Threshold("mood", "<=", 2, SignalKind.low_scale, Severity.medium),
    Threshold("confidence", "<=", 2, SignalKind.low_scale, Severity.medium),
)


def crossed(thresholds: Sequence[Threshold], question: str, answer: int) -> list[Threshold]:
    return [t for t in thresholds if t.question == question and t.crossed_by(answer)]


async def record_signals(
    session: AsyncSession,
    client: Client,
    checkin: Checkin,
    messaging: Messaging,
    now: datetime,
    *,
    thresholds: Sequence[Threshold],
    source: str,
    question: str,
    value: int,
) -> None:
    """A signal for each threshold the answer crosses. ``source`` names the instrument in the
    evidence ("weekly", "scale")."""
    for threshold in crossed(thresholds, question, value):
        await record_signal(
            session,
            client,
            messaging,
            now,
            kind=threshold.kind,
            severity=threshold.severity,
            evidence={
                source: question,
                "answer": value,
                "threshold": f"{threshold.rule} {threshold.value}",
            },
            checkin_id=checkin.id,
        )
