"""Conversation state in PostgreSQL: aiogram's FSM storage on the ``conversation_states`` table.

Inside an update's unit of work the state is written with the same session, so it commits or rolls
back together with everything else the update did; a restart mid-conversation loses nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

import sqlalchemy as sa
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, StateType, StorageKey
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from service.columns import utcnow
from service.conversations.models import ConversationState

# The session of the update being handled, set by the bot's unit-of-work middleware.
CURRENT_SESSION: ContextVar[AsyncSession | None] = ContextVar("current_session", default=None)


class PostgresStorage(BaseStorage):
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self.keys = DefaultKeyBuilder(with_destiny=True)

    @asynccontextmanager
    async def _session(self) -> AsyncIterator[AsyncSession]:
        current = CURRENT_SESSION.get()
        if current is not None:
            yield current
            return
        async with self.sessions() as session:
            yield session
            await session.commit()

    async def _upsert(self, key: StorageKey, **values: Any) -> None:
        statement = insert(ConversationState).values(
            key=self.keys.build(key), updated_at=utcnow(), **values
        )
        statement = statement.on_conflict_do_update(
            index_elements=["key"], set_={**values, "updated_at": utcnow()}
        )
        async with self._session() as session:
            await session.execute(statement)

    async def _read(self, key: StorageKey, column: Any) -> Any:
        async with self._session() as session:
            return await session.scalar(
                sa.select(column).where(col(ConversationState.key) == self.keys.build(key))
            )

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        await self._upsert(key, state=state.state if isinstance(state, State) else state)

    async def get_state(self, key: StorageKey) -> str | None:
        state: str | None = await self._read(key, col(ConversationState.state))
        return state

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        await self._upsert(key, data=dict(data))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        data = await self._read(key, col(ConversationState.data))
        return dict(data) if data else {}

    async def close(self) -> None:
        return None
