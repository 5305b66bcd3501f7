"""Message templates and their versions. Rendering always uses the published version."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from service.columns import created_at, json_list, json_object, timestamp


class Template(SQLModel, table=True):
    __tablename__ = "templates"
    __table_args__ = (sa.UniqueConstraint("key", "language"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=120)  # the id in the file's metadata header
    language: str = Field(max_length=8)
    category: str = Field(max_length=40, index=True)
    technique: str = Field(max_length=40)
    values: list[str] = json_list()  # values it speaks to; empty means any
    stages: list[str] = json_list()  # stages of change it suits; empty means any
    extras: dict[str, str] = json_object()  # scale, band, milestone, darn_cat or alert
    published_version: int | None = None
    created_at: datetime = created_at()
    updated_at: datetime | None = timestamp()


class TemplateVersion(SQLModel, table=True):
    __tablename__ = "template_versions"
    __table_args__ = (sa.UniqueConstraint("template_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    template_id: int = Field(foreign_key="templates.id", ondelete="CASCADE", index=True)
    version: int
    body: str = Field(sa_type=sa.Text)
    note: str = Field(default="", max_length=500)
    created_by: int | None = Field(
        default=None, foreign_key="console_users.id", ondelete="SET NULL"
    )
    created_at: datetime = created_at()
