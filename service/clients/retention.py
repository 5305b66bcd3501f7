"""The retention policy: the words clients wrote, and the words sent to them, are redacted
``AFTERCARE_RETENTION_DAYS`` after they were written (0: kept until the client is erased).

What goes, past the retention period:

- ``inbound_messages.text`` (``redacted_at`` records when; the row, its kind and times stay, so
  "last reply", response rates and the timeline keep their shape);
- the matched words in the evidence of the signals found in those messages (``evidence.words``;
  the kind, severity, rules and the ids of earlier replies stay);
- the text (or caption) of outbox messages no longer pending: what the bot said may quote the
  client (their first name, their reasons, a Telegram alert quoting a message). The payload keeps
  everything else, with ``redacted_at``; ids, lane, status, times, the template version and the
  reason stay, so engagement and tailoring history survive. Messages about an alert that is not
  resolved are kept until it is (the alert's Telegram messages are edited with its state);
- conversation states (onboarding answers in progress) idle for that long.

What stays: the client's profile (values and own reasons are part of it, shown to the care team
until the client changes them or is erased), check-in answers (numbers), alerts and staff notes,
the audit log.

Each batch is its own short transaction: rows are claimed by primary key order with
``FOR UPDATE SKIP LOCKED`` (a row a conversation holds now is left for the next run), so a run
never holds locks for long, and running it again changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.columns import utcnow

log = logging.getLogger(__name__)

BATCH_SIZE = 5000

# A batch of a client's old words: the messages' text, and the words their signals matched.
REDACT_INBOUND = sa.text(
    """
    WITH batch AS (
        SELECT id FROM inbound_messages
        WHERE id > :after AND received_at < :cutoff
          AND text IS NOT NULL AND redacted_at IS NULL
        ORDER BY id
        LIMIT :size
        FOR UPDATE SKIP LOCKED
    ), redacted AS (
        UPDATE inbound_messages AS message SET text = NULL, redacted_at = :now
        FROM batch WHERE message.id = batch.id
        RETURNING message.id
    ), stripped AS (
        UPDATE signals AS signal SET evidence = signal.evidence - 'words'
        FROM redacted
        WHERE signal.inbound_message_id = redacted.id AND signal.evidence ? 'words'
        RETURNING signal.id
    )
    SELECT (SELECT max(id) FROM batch) AS last, (SELECT count(*) FROM redacted) AS messages,
           (SELECT count(*) FROM stripped) AS signals
    """
)

# A batch of old sent words. Messages about an alert still open keep theirs: its Telegram
# messages are edited with their original text as the alert changes.
REDACT_OUTBOX = sa.text(
    """
    WITH batch AS (
        SELECT id FROM outbox_messages
        WHERE id > :after AND created_at < :cutoff AND status <> 'pending'
          AND (payload ? 'text' OR payload ? 'caption')
          AND coalesce(alert_id::text, reason ->> 'alert_id', '') NOT IN (
              SELECT id::text FROM alerts WHERE status <> 'resolved'
          )
        ORDER BY id
        LIMIT :size
        FOR UPDATE SKIP LOCKED
    ), redacted AS (
        UPDATE outbox_messages AS message
        SET payload = (message.payload - 'text' - 'caption')
            || jsonb_build_object('redacted_at', CAST(:now AS timestamptz))
        FROM batch WHERE message.id = batch.id
        RETURNING message.id
    )
    SELECT (SELECT max(id) FROM batch) AS last, (SELECT count(*) FROM redacted) AS messages,
           0 AS signals
    """
)

FORGET_CONVERSATIONS = sa.text(
    """
    UPDATE conversation_states SET state = NULL, data = '{}'::jsonb
    WHERE updated_at < :cutoff AND (state IS NOT NULL OR data <> '{}'::jsonb)
    """
)


@dataclass(frozen=True)
class Redactor:
    """The worker's ``redact`` tick: applies the retention policy, batch by batch."""

    sessions: async_sessionmaker[AsyncSession]
    retention_days: int  # 0: keep everything
    clock: Callable[[], datetime] = utcnow
    batch_size: int = BATCH_SIZE

    async def redact(self) -> int:
        """Redact what is past the retention period; how many rows changed (0 the second time)."""
        if self.retention_days <= 0:
            return 0
        now = self.clock()
        cutoff = now - timedelta(days=self.retention_days)
        messages, signals = await self._batches(REDACT_INBOUND, cutoff, now)
        sent, _ = await self._batches(REDACT_OUTBOX, cutoff, now)
        async with self.sessions() as session, session.begin():
            forgotten = await session.execute(FORGET_CONVERSATIONS, {"cutoff": cutoff})
        conversations = int(forgotten.rowcount)  # type: ignore[attr-defined]
        if messages or sent or conversations:
            log.info(
                "retention: redacted %d messages (%d signals), %d sent messages, "
                "%d conversation states older than %d days",
                messages,
                signals,
                sent,
                conversations,
                self.retention_days,
            )
        return messages + signals + sent + conversations

    async def _batches(
        self, statement: sa.TextClause, cutoff: datetime, now: datetime
    ) -> tuple[int, int]:
        """Run one batch statement over the table by id until no row is left: one pass over
        the table per run, however many batches."""
        after, rows, signals = 0, 0, 0
        while True:
            async with self.sessions() as session, session.begin():
                result = (
                    await session.execute(
                        statement,
                        {"after": after, "cutoff": cutoff, "now": now, "size": self.batch_size},
                    )
                ).one()
            if result.last is None:
                return rows, signals
            after = int(result.last)
            rows += int(result.messages)
            signals += int(result.signals)
