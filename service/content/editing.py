"""Editing the message library in the console: browsing it, checking and previewing a text as it
is written, saving drafts, publishing, rolling back, and the word-by-word changes between versions.

A version's text is never changed once written. Saving a draft adds a version above the published
one; publishing points ``Template.published_version`` at a version (a note typed when publishing a
saved draft is added to the draft's note, as nobody has received it yet); rolling back publishes a
new version that copies an old one's text. So the history reads in order, every version names
who wrote it, and every message in the outbox names the exact text it was made from. The bot's
``Library`` notices a publication by its digest of published versions and reads the library again.

Nothing is published that ``check_body`` finds a problem with: a syntax error, an unknown variable
or unsafe Jinja2 would break or endanger the message, a text past Telegram's limits would not be
sent, and an MI lint finding (a label, an order, a warning, a name of treatment) would hurt the
person reading it. It is the bar ``aftercare templates check`` holds the seed library to. Drafts
may have problems: they are work in progress, and nobody receives them.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from difflib import SequenceMatcher

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.checkins.cadence import local_date
from service.clients.models import Client, ClientState
from service.content.check import Body, check_body
from service.content.compose import SAMPLE_CLIENT, SAMPLE_STAFF, client_context
from service.content.library import Meta, Problem
from service.content.models import Template, TemplateVersion
from service.content.rendering import TAG, Context, Renderer, RenderError
from service.content.service import meta_of, situation
from service.errors import AftercareError
from service.staff.models import ConsoleUser

ANY_VALUE = "any"  # the filter for templates that speak to any value (an empty list)
MAX_NOTE = 500  # TemplateVersion.note's length


class EditRefused(AftercareError):
    """This change to the template cannot be made."""


class TemplateNotFound(EditRefused):
    """There is no such template."""


class VersionNotFound(EditRefused):
    """There is no such version of this template."""


class NothingToSave(EditRefused):
    """The text is the same as the latest version: there is nothing new to save."""


class EmptyText(EditRefused):
    """The message is empty: write it first."""


class AlreadyPublished(EditRefused):
    """This text is published already."""


class StaleEdit(EditRefused):
    """Someone else saved a version of this template while you were editing it."""

    def __init__(self, latest: int) -> None:
        super().__init__(
            f"Someone else saved version {latest} of this template while you were editing it. "
            "Your text is kept below: compare it with theirs in the history, then save again."
        )
        self.latest = latest


class UnknownBase(EditRefused):
    """The form did not say which version the text was written from."""

    def __init__(self, latest: int) -> None:
        super().__init__(
            f"This form did not say which version it was edited from, and version {latest} "
            "is saved already. Your text is kept below: compare it with the latest version in "
            "the history, then save again."
        )
        self.latest = latest


class NotPublishable(EditRefused):
    """The message has problems to fix before it can be published."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__()
        self.problems = problems


class ClientNotFound(AftercareError):
    """There is no client with this id to preview for."""


# What the console calls each kind of problem ``check_body`` reports.
KINDS = {
    "header": "Metadata",
    "syntax": "Syntax",
    "variable": "Variable",
    "unsafe": "Unsafe",
    "limit": "Telegram limit",
    "lint": "MI lint",
}


@dataclass(frozen=True)
class Filters:
    """What the template list is narrowed to; an empty field does not narrow it."""

    category: str = ""
    value: str = ""  # one of VALUES, or ANY_VALUE for templates that speak to any value
    language: str = ""
    technique: str = ""
    search: str = ""  # part of the key


@dataclass(frozen=True)
class Listed:
    """A template as the list shows it, with its latest version."""

    id: int
    key: str
    language: str
    category: str
    technique: str
    values: list[str]
    published_version: int | None
    latest_version: int | None
    changed_at: datetime | None
    changed_by: str | None  # the console user's email; None: the seed library

    @property
    def has_draft(self) -> bool:
        return (self.latest_version or 0) > (self.published_version or 0)


async def list_templates(session: AsyncSession, filters: Filters) -> list[Listed]:
    """The templates that match ``filters``, by category, key and language, in one query."""
    latest = (
        sa.select(
            col(TemplateVersion.version),
            col(TemplateVersion.created_at),
            col(ConsoleUser.email),
        )
        .outerjoin(ConsoleUser, col(ConsoleUser.id) == col(TemplateVersion.created_by))
        .where(col(TemplateVersion.template_id) == col(Template.id))
        .order_by(col(TemplateVersion.version).desc())
        .limit(1)
        .lateral("latest")
    )
    query = (
        sa.select(
            col(Template.id),
            col(Template.key),
            col(Template.language),
            col(Template.category),
            col(Template.technique),
            col(Template.values),
            col(Template.published_version),
            latest.c.version,
            latest.c.created_at,
            latest.c.email,
        )
        .outerjoin(latest, sa.true())
        .order_by(col(Template.category), col(Template.key), col(Template.language))
    )
    if filters.category:
        query = query.where(col(Template.category) == filters.category)
    if filters.language:
        query = query.where(col(Template.language) == filters.language)
    if filters.technique:
        query = query.where(col(Template.technique) == filters.technique)
    if filters.value == ANY_VALUE:
        query = query.where(sa.func.jsonb_array_length(col(Template.values)) == 0)
    elif filters.value:
        query = query.where(col(Template.values).contains([filters.value]))
    if search := filters.search.strip().lower():
        query = query.where(sa.func.lower(col(Template.key)).contains(search, autoescape=True))
    return [Listed(*row) for row in await session.execute(query)]


@dataclass(frozen=True)
class Version:
    number: int
    body: str
    note: str
    created_at: datetime
    author: str | None  # the console user's email; None: the seed library


@dataclass(frozen=True)
class Edited:
    """A template with its metadata and every version, oldest first."""

    template: Template
    meta: Meta
    versions: list[Version]

    @property
    def id(self) -> int:
        assert self.template.id is not None
        return self.template.id

    @property
    def latest(self) -> Version | None:
        return self.versions[-1] if self.versions else None

    @property
    def published(self) -> Version | None:
        return self.version(self.template.published_version or 0)

    @property
    def draft(self) -> Version | None:
        """The latest version, if it is newer than the published one."""
        latest = self.latest
        if latest is not None and latest.number > (self.template.published_version or 0):
            return latest
        return None

    def version(self, number: int) -> Version | None:
        return next((version for version in self.versions if version.number == number), None)

    def before(self, number: int) -> Version | None:
        """The version before ``number``, which its changes are shown against."""
        earlier = [version for version in self.versions if version.number < number]
        return earlier[-1] if earlier else None


async def edited(session: AsyncSession, template_id: int) -> Edited:
    """A template and its history, or ``TemplateNotFound``."""
    template = await session.get(Template, template_id)
    if template is None:
        raise TemplateNotFound
    rows = await session.execute(
        sa.select(TemplateVersion, col(ConsoleUser.email))
        .outerjoin(ConsoleUser, col(ConsoleUser.id) == col(TemplateVersion.created_by))
        .where(col(TemplateVersion.template_id) == template_id)
        .order_by(col(TemplateVersion.version))
    )
    versions = [
        Version(row.version, row.body, row.note, row.created_at, email) for row, email in rows
    ]
    return Edited(template, meta_of(template), versions)


def normalized(text: str) -> str:
    """A text as a browser's form sends it, with the seed files' line endings: ``\\n`` between
    lines and one at the end."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").rstrip()
    return text + "\n" if text else ""


def check(meta: Meta, text: str, renderer: Renderer) -> list[Problem]:
    """Every problem with ``text`` as the body of a template described by ``meta``."""
    body = Body(
        text,
        1,
        meta.language,
        meta.audience,
        meta.category,
        meta.technique,
        meta.values[0] if meta.values else None,
    )
    # Once each: an unsupported tag is reported for its opening and its closing alike.
    return list(dict.fromkeys(check_body(body, renderer)))


@dataclass(frozen=True)
class Sample:
    """A made-up client to preview a message for; empty fields take the sample client's."""

    first_name: str = ""
    language: str = ""
    value: str = ""
    days_sober: int | None = None


@dataclass(frozen=True)
class Preview:
    """A text as its reader would receive it (Telegram HTML), or why it cannot be rendered."""

    reader: str  # who it was rendered for
    text: str | None = None
    length: int = 0  # visible characters, as Telegram counts them
    problems: Sequence[Problem] = ()

    @property
    def visible(self) -> str:
        """The text as the reader sees it: formatting tags gone, entities shown as characters."""
        return html.unescape(TAG.sub("", self.text or ""))


def render(text: str, context: Context, reader: str, renderer: Renderer) -> Preview:
    try:
        rendered = renderer.render(text, context)
    except RenderError as exc:
        return Preview(reader, problems=exc.problems)
    return Preview(reader, rendered.text, rendered.visible_length)


def preview_for_sample(
    meta: Meta, text: str, sample: Sample, on: date, renderer: Renderer
) -> Preview:
    if meta.audience == "staff":
        return render(text, SAMPLE_STAFF, "a sample staff alert", renderer)
    facts = SAMPLE_CLIENT.get(sample.language or meta.language, SAMPLE_CLIENT["en"])
    if sample.first_name.strip():
        facts = replace(facts, first_name=sample.first_name.strip())
    if sample.days_sober is not None:
        facts = replace(facts, sobriety_date=on - timedelta(days=sample.days_sober))
    value = sample.value or (meta.values[0] if meta.values else "family")
    context = client_context(facts, value, on)
    reader = f"a sample client, {facts.first_name} ({facts.language}, {value})"
    return render(text, context, reader, renderer)


async def preview_for_client(
    session: AsyncSession,
    meta: Meta,
    text: str,
    client_id: int,
    *,
    now: datetime,
    renderer: Renderer,
) -> Preview:
    """The text as a real client would receive it today, their own today (their timezone's date,
    as the bot counts their sober days): their name, words, sober days and coordinator, with the
    value of theirs the template speaks to. ``ClientNotFound`` if there is no such client (or only
    an erased one's tombstone)."""
    client = await session.get(Client, client_id)
    if client is None or client.state is ClientState.erased:
        raise ClientNotFound
    reader = f"client {client.code}"
    if meta.audience == "staff":
        return render(text, {**SAMPLE_STAFF, "client_code": client.code}, reader, renderer)
    seen = await situation(session, client, now)
    theirs = tuple(value for value in meta.values if value in seen.profile.values)
    value = next(iter(theirs or meta.values or seen.profile.values), None)
    today = local_date(now, client.timezone)
    return render(text, client_context(seen.facts, value, today), reader, renderer)


async def _locked(session: AsyncSession, template_id: int) -> tuple[Template, int]:
    """The template, locked until the transaction ends, and its latest version's number."""
    template = await session.scalar(
        sa.select(Template).where(col(Template.id) == template_id).with_for_update()
    )
    if template is None:
        raise TemplateNotFound
    latest = await session.scalar(
        sa.select(sa.func.max(col(TemplateVersion.version))).where(
            col(TemplateVersion.template_id) == template_id
        )
    )
    return template, latest or 0


async def _edit(
    session: AsyncSession, template_id: int, text: str, base: int | None
) -> tuple[Template, int, str]:
    """How saving and publishing start: the template locked, with its latest version's number,
    and the text normalised. ``base`` is the latest version the author started from: if someone
    saved another since, ``StaleEdit``; if it is not known (``None``), ``UnknownBase`` unless
    there is no version yet; an empty text, ``EmptyText``."""
    template, latest = await _locked(session, template_id)
    if base is None and latest:
        raise UnknownBase(latest)
    if base is not None and base != latest:
        raise StaleEdit(latest)
    text = normalized(text)
    if not text:
        raise EmptyText
    return template, latest, text


async def _version(session: AsyncSession, template_id: int, number: int) -> TemplateVersion | None:
    return await session.scalar(
        sa.select(TemplateVersion).where(
            col(TemplateVersion.template_id) == template_id,
            col(TemplateVersion.version) == number,
        )
    )


async def _body(session: AsyncSession, template_id: int, number: int) -> str | None:
    version = await _version(session, template_id, number)
    return version.body if version else None


def _noted(note: str, more: str) -> str:
    """A draft's note with the one typed when it was published, if that says something new."""
    note, more = note.strip(), more.strip()
    if not more or more == note or more in note.split("\n"):
        return note
    return (f"{note}\n{more}" if note else more)[:MAX_NOTE]


def _add_version(
    session: AsyncSession,
    template_id: int,
    number: int,
    text: str,
    *,
    note: str,
    author: int,
    now: datetime,
) -> None:
    session.add(
        TemplateVersion(
            template_id=template_id,
            version=number,
            body=text,
            note=note.strip()[:MAX_NOTE],
            created_by=author,
            created_at=now,
        )
    )


def _publish(template: Template, number: int, now: datetime) -> None:
    template.published_version = number
    template.updated_at = now


async def save_draft(
    session: AsyncSession,
    template_id: int,
    text: str,
    note: str,
    *,
    base: int | None,
    author: int,
    now: datetime,
) -> int:
    """Save ``text`` as a new, unpublished version and return its number (see ``_edit`` for
    ``base``)."""
    template, latest, text = await _edit(session, template_id, text, base)
    if text == await _body(session, template_id, latest):
        raise NothingToSave
    _add_version(session, template_id, latest + 1, text, note=note, author=author, now=now)
    template.updated_at = now
    await session.flush()
    return latest + 1


async def publish(
    session: AsyncSession,
    template_id: int,
    text: str,
    note: str,
    *,
    base: int | None,
    author: int,
    now: datetime,
    renderer: Renderer,
) -> int:
    """Publish ``text``: the latest version if it is that text (a saved draft), else a new
    version. Returns the published version's number; ``NotPublishable`` with the problems,
    and nothing changed, if it has any. A note typed when publishing a saved draft is added to
    the draft's own: the draft reached nobody yet, so its text is what it was, and the history
    keeps why it was written and why it was published."""
    template, latest, text = await _edit(session, template_id, text, base)
    problems = check(meta_of(template), text, renderer)
    if problems:
        raise NotPublishable(problems)
    draft = await _version(session, template_id, latest)
    if draft is not None and text == draft.body:
        if latest == template.published_version:
            raise AlreadyPublished
        number = latest
        draft.note = _noted(draft.note, note)
    else:
        number = latest + 1
        _add_version(session, template_id, number, text, note=note, author=author, now=now)
    _publish(template, number, now)
    await session.flush()
    return number


async def roll_back(
    session: AsyncSession,
    template_id: int,
    version: int,
    *,
    author: int,
    now: datetime,
    renderer: Renderer,
) -> int:
    """Publish a new version with the text of ``version`` (checked again, as the checks may
    have grown since it was written) and return its number."""
    template, latest = await _locked(session, template_id)
    text = await _body(session, template_id, version)
    if text is None:
        raise VersionNotFound
    if latest == template.published_version and text == await _body(session, template_id, latest):
        raise AlreadyPublished
    problems = check(meta_of(template), text, renderer)
    if problems:
        raise NotPublishable(problems)
    note = f"Rolled back to version {version}"
    _add_version(session, template_id, latest + 1, text, note=note, author=author, now=now)
    _publish(template, latest + 1, now)
    await session.flush()
    return latest + 1


@dataclass(frozen=True)
class Change:
    """A run of a diff: text both versions share (``same``), or ``added`` or ``removed``."""

    kind: str
    text: str


TOKENS = re.compile(r"\s+|\w+|[^\w\s]")


def diff(old: str, new: str) -> list[Change]:
    """What changed from ``old`` to ``new``, word by word (messages are mostly one paragraph,
    where a line-by-line diff would show the whole text as changed)."""
    before, after = TOKENS.findall(old), TOKENS.findall(new)
    changes: list[Change] = []
    removed: list[str] = []
    added: list[str] = []

    def flush() -> None:
        for kind, tokens in (("removed", removed), ("added", added)):
            if tokens:
                changes.append(Change(kind, "".join(tokens)))
                tokens.clear()

    operations = SequenceMatcher(None, before, after, autojunk=False).get_opcodes()
    for index, (operation, i1, i2, j1, j2) in enumerate(operations):
        # A space between two changed words belongs to the change, so it reads as one.
        inside = 0 < index < len(operations) - 1
        if operation == "equal" and not (inside and all(t.isspace() for t in before[i1:i2])):
            flush()
            changes.append(Change("same", "".join(before[i1:i2])))
        else:
            removed.extend(before[i1:i2])
            added.extend(after[j1:j2])
    flush()
    return changes
