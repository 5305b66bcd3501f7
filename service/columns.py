"""Column types shared by the tables: aware timestamps, JSONB, enums stored as text."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel

# Deterministic constraint names, so that migrations can refer to them.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def among(column: Any, ids: Sequence[int]) -> sa.ColumnElement[bool]:
    """``column = ANY($1)``: one array parameter however many ids (``IN`` binds one per id,
    which costs time to compile for a batch of hundreds)."""
    return column == sa.any_(sa.literal(list(ids), type_=ARRAY(sa.BigInteger)))  # type: ignore[no-any-return]


class ArrayRows:
    """A batch of rows as one array parameter per column, ``unnest(…) AS name(a, b, …)``: one
    statement writes them all (``executemany`` costs the database a statement a row)."""

    def __init__(self, name: str, columns: Mapping[str, sa.types.TypeEngine[Any]]) -> None:
        self.name = name
        self.columns = dict(columns)
        parameters = [sa.bindparam(self._key(c), type_=ARRAY(t)) for c, t in columns.items()]
        self.table: Any = (
            sa.func.unnest(*parameters).table_valued(*columns).render_derived(name=name)
        )

    def _key(self, column: str) -> str:
        return f"{self.name}_{column}"  # not a column's name: SQLAlchemy keeps those for VALUES

    def parameters(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
        return {self._key(column): [row[column] for row in rows] for column in self.columns}


def utcnow() -> datetime:
    return datetime.now(UTC)


def created_at() -> Any:
    """A ``timestamptz`` set by the database when the row is written."""
    return Field(
        default=None,
        sa_type=sa.DateTime(timezone=True),
        sa_column_kwargs={"server_default": sa.func.now(), "nullable": False},
    )


def big_id() -> Any:
    """A ``bigint`` identity key, for tables that grow with every message."""
    return Field(default=None, primary_key=True, sa_type=sa.BigInteger)


def timestamp(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(
        default=None,
        sa_type=sa.DateTime(timezone=True),
        nullable=nullable,
        index=index,
    )


def json_list() -> Any:
    return Field(
        default_factory=list,
        sa_type=JSONB,
        sa_column_kwargs={"server_default": sa.text("'[]'::jsonb"), "nullable": False},
    )


def json_object() -> Any:
    return Field(
        default_factory=dict,
        sa_type=JSONB,
        sa_column_kwargs={"server_default": sa.text("'{}'::jsonb"), "nullable": False},
    )


def enum_text(
    enum: type[StrEnum],
    default: StrEnum | None = None,
    *,
    nullable: bool = False,
    index: bool = False,
) -> Any:
    """An enum kept as its plain value in a ``varchar`` (no PostgreSQL enum type to migrate)."""
    length = max(len(member.value) for member in enum)
    return Field(
        default=default,
        sa_type=sa.Enum(
            enum,
            native_enum=False,
            create_constraint=False,
            length=max(length, 16),
            values_callable=lambda members: [member.value for member in members],
            validate_strings=True,
        ),
        nullable=nullable,
        index=index,
    )
