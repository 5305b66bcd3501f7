"""Message templates (admins): browse, edit with a live preview and checks, publish, roll back.

Thin: each page reads its form or address, calls one use case of ``service.content.editing``,
audits what changed (ids only) and renders. A page about one template takes it as ``Found``; an
unknown template is the "no such template" page (404) for every route of this router. The
editor checks as the admin types (its script posts to ``/check`` for a fragment) and also works
without a script (the "Check and preview" button posts the form to the same address for the
whole page).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.routing import APIRoute

from service.content.editing import (
    ANY_VALUE,
    KINDS,
    AlreadyPublished,
    ClientNotFound,
    Edited,
    EditRefused,
    Filters,
    NothingToSave,
    NotPublishable,
    Preview,
    Sample,
    StaleEdit,
    TemplateNotFound,
    UnknownBase,
    VersionNotFound,
    check,
    diff,
    edited,
    list_templates,
    normalized,
    preview_for_client,
    preview_for_sample,
    publish,
    roll_back,
    save_draft,
)
from service.content.library import LANGUAGES, VALUES, Category, Problem, Technique
from service.content.rendering import MAX_TEXT, VARIABLES, Renderer
from service.web.console import (
    Admin,
    CheckedForm,
    Database,
    Id,
    as_id,
    as_number,
    audit,
    console_of,
    see_other,
)

MAX_SAMPLE_NAME = 80
MAX_SAMPLE_DAYS = 36_500
NOTICES = {
    "draft": "Draft saved as version {version}. Nobody receives it until it is published.",
    "published": "Version {version} is published: the bot uses it from its next message.",
    "rolled_back": "Version {version}, a copy of version {source}, is published: the bot uses "
    "it from its next message.",
}


def _notice(done: str, version: str, source: str) -> str | None:
    """What was just done, from the address the change redirected to (a rollback whose source
    is not in it reads as a publication)."""
    number, copied = as_id(version), as_id(source)
    if done not in NOTICES or number is None:
        return None
    if done == "rolled_back" and copied is None:
        done = "published"
    return NOTICES[done].format(version=number, source=copied)


def _base(given: Mapping[str, str]) -> int | None:
    """The latest version the editor's text was written from (0: there was none)."""
    return as_number(given.get("base_version"), low=0)


def _path(template_id: int, page: str = "") -> str:
    return f"/console/templates/{template_id}" + (f"/{page}" if page else "")


@dataclass(frozen=True)
class Target:
    """Whom the preview is for, as the editor's fields say: a real client by id, or a sample."""

    fields: dict[str, str]  # as given back to the form
    client_id: int | None
    sample: Sample
    problem: str | None = None

    @classmethod
    def of(cls, given: Mapping[str, str]) -> Target:
        fields = {
            "client_id": given.get("client_id", "").strip(),
            "sample_name": given.get("sample_name", "").strip()[:MAX_SAMPLE_NAME],
            "sample_value": given.get("sample_value", ""),
            "sample_language": given.get("sample_language", ""),
            "sample_days": given.get("sample_days", "").strip(),
        }
        sample = Sample(
            first_name=fields["sample_name"],
            language=fields["sample_language"] if fields["sample_language"] in LANGUAGES else "",
            value=fields["sample_value"] if fields["sample_value"] in VALUES else "",
            days_sober=as_number(fields["sample_days"], low=0, high=MAX_SAMPLE_DAYS),
        )
        client_id = as_id(fields["client_id"])
        problem = None
        if fields["client_id"] and client_id is None:
            problem = "A client id is a number, as in the address of the client's page."
        return cls(fields, client_id, sample, problem)


async def _preview(
    request: Request,
    session: Database,
    viewer: Admin,
    found: Edited,
    *,
    text: str,
    target: Target,
    renderer: Renderer,
    whole_page: bool,
) -> Preview:
    """The text rendered for the target. A real client's view is audited when a whole page shows
    it; the editor's live check (a fragment, on every pause in the typing) changes nothing."""
    now = console_of(request).config.clock()
    if target.problem is not None:
        return Preview("nobody", problems=[Problem(0, "client", target.problem)])
    if target.client_id is None:
        return preview_for_sample(found.meta, text, target.sample, now.date(), renderer)
    try:
        preview = await preview_for_client(
            session, found.meta, text, target.client_id, now=now, renderer=renderer
        )
    except ClientNotFound:
        message = f"There is no client with id {target.client_id}."
        return Preview("nobody", problems=[Problem(0, "client", message)])
    if not whole_page:
        return preview
    await audit(
        session,
        viewer,
        "console.client.previewed",
        "client",
        target.client_id,
        template_id=found.id,
    )
    await session.commit()
    return preview


async def _checked(
    request: Request,
    session: Database,
    viewer: Admin,
    found: Edited,
    *,
    text: str,
    target: Target,
    whole_page: bool,
) -> dict[str, Any]:
    """The findings and the preview of a text, as the editor and its fragment show them."""
    renderer = Renderer()  # one a request: a shared one would cache every text ever typed
    text = normalized(text)
    return {
        "problems": check(found.meta, text, renderer),
        "preview": await _preview(
            request,
            session,
            viewer,
            found,
            text=text,
            target=target,
            renderer=renderer,
            whole_page=whole_page,
        ),
        "kinds": KINDS,
        "max_text": MAX_TEXT,
    }


async def _editor(
    request: Request,
    session: Database,
    viewer: Admin,
    found: Edited,
    *,
    text: str | None = None,
    note: str = "",
    base: int | None = None,
    given: Mapping[str, str] | None = None,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    current = found.draft or found.published or found.latest
    if text is None:
        text = current.body if current else ""
    if base is None:
        base = found.latest.number if found.latest else 0
    target = Target.of(given or {})
    checked = await _checked(
        request, session, viewer, found, text=text, target=target, whole_page=True
    )
    return console_of(request).render(
        request,
        "template_edit.html",
        {
            "found": found,
            "meta": found.meta,
            "text": text,
            "note": note,
            "base": base,
            "target": target.fields,
            "values": VALUES,
            "languages": LANGUAGES,
            "variables": sorted(VARIABLES[found.meta.audience]),
            "notice": notice,
            "error": error,
            **checked,
        },
        status_code=status_code,
    )


def _missing(request: Request) -> Response:
    template_id = request.path_params.get("template_id")
    return console_of(request).render(
        request, "templates_missing.html", {"template_id": template_id}, status_code=404
    )


class _TemplateRoute(APIRoute):
    """A route of this router: ``TemplateNotFound``, from ``Found`` or a use case, is answered
    with the "no such template" page."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await handle(request)
            except TemplateNotFound:
                return _missing(request)

        return handler


router = APIRouter(route_class=_TemplateRoute)


async def found_template(template_id: Id, session: Database, viewer: Admin) -> Edited:
    """The template of the address with its history (admins only: checked first, so nobody
    else learns which ids exist); ``TemplateNotFound`` if there is none."""
    return await edited(session, template_id)


Found = Annotated[Edited, Depends(found_template)]


def _refusal_status(exc: EditRefused) -> int:
    if isinstance(exc, StaleEdit | UnknownBase | NothingToSave | AlreadyPublished):
        return 409  # the template is not in the state the admin saw
    if isinstance(exc, VersionNotFound):
        return 404
    return 422


@router.get("/console/templates", response_class=HTMLResponse)
async def templates(
    request: Request,
    *,
    session: Database,
    viewer: Admin,
    category: str = "",
    value: str = "",
    language: str = "",
    technique: str = "",
    q: str = "",
) -> Response:
    """The library, filtered by category, value, language, technique and part of the key."""
    filters = Filters(category, value, language, technique, q.strip())
    return console_of(request).render(
        request,
        "templates_list.html",
        {
            "rows": await list_templates(session, filters),
            "filters": filters,
            "categories": [category.value for category in Category],
            "techniques": [technique.value for technique in Technique],
            "values": VALUES,
            "any_value": ANY_VALUE,
            "languages": LANGUAGES,
        },
    )


@router.get("/console/templates/{template_id}", response_class=HTMLResponse)
async def editor(
    request: Request,
    *,
    found: Found,
    session: Database,
    viewer: Admin,
    done: str = "",
    version: str = "",
    source: str = "",
) -> Response:
    """The editor: the draft (or the published text), its findings and its preview, for a
    sample or, with ``?client_id=``, a real client (the view audited)."""
    return await _editor(
        request,
        session,
        viewer,
        found,
        given=request.query_params,
        notice=_notice(done, version, source),
    )


@router.post("/console/templates/{template_id}/check", response_class=HTMLResponse)
async def check_text(
    request: Request,
    *,
    found: Found,
    session: Database,
    viewer: Admin,
    form: CheckedForm,
    fragment: bool = False,
) -> Response:
    """Findings and preview of the text being written: a fragment for the editor's script
    (``?fragment=1``, read-only: a real client's preview there is not audited, as the whole
    page that asked for it was), else the whole editor with them (the button, without a
    script)."""
    text = form.get("body", "")
    if fragment:
        target = Target.of(form)
        checked = await _checked(
            request, session, viewer, found, text=text, target=target, whole_page=False
        )
        return console_of(request).render(request, "_template_checked.html", checked)
    return await _editor(
        request,
        session,
        viewer,
        found,
        text=text,
        note=form.get("note", ""),
        base=_base(form),
        given=form,
    )


async def _change(
    request: Request,
    session: Database,
    viewer: Admin,
    template_id: int,
    *,
    form: Mapping[str, str],
    publishing: bool,
) -> Response:
    """Save the editor's text as a draft, or publish it."""
    now = console_of(request).config.clock()
    text, note, base = form.get("body", ""), form.get("note", ""), _base(form)
    try:
        if publishing:
            number = await publish(
                session,
                template_id,
                text,
                note,
                base=base,
                author=viewer.user_id,
                now=now,
                renderer=Renderer(),
            )
        else:
            number = await save_draft(
                session, template_id, text, note, base=base, author=viewer.user_id, now=now
            )
    except TemplateNotFound:
        raise  # the "no such template" page, not a refusal
    except EditRefused as exc:
        await session.rollback()
        found = await edited(session, template_id)
        if isinstance(exc, NotPublishable):
            error = "Not published: the text has problems, listed below, to fix first."
        else:
            error = str(exc)
        return await _editor(
            request,
            session,
            viewer,
            found,
            text=text,
            note=note,
            base=base,
            given=form,
            error=error,
            status_code=_refusal_status(exc),
        )
    done = "published" if publishing else "draft"
    action = "console.template.published" if publishing else "console.template.draft_saved"
    await audit(session, viewer, action, "template", template_id, version=number)
    await session.commit()
    return see_other(_path(template_id) + f"?done={done}&version={number}")


@router.post("/console/templates/{template_id}/draft", response_class=HTMLResponse)
async def draft(
    request: Request, *, found: Found, session: Database, viewer: Admin, form: CheckedForm
) -> Response:
    """Save the text as a new version that nobody receives until it is published."""
    return await _change(request, session, viewer, found.id, form=form, publishing=False)


@router.post("/console/templates/{template_id}/publish", response_class=HTMLResponse)
async def publish_text(
    request: Request, *, found: Found, session: Database, viewer: Admin, form: CheckedForm
) -> Response:
    """Publish the text (refused, with the findings, if it has any problem)."""
    return await _change(request, session, viewer, found.id, form=form, publishing=True)


async def _history(
    request: Request,
    found: Edited,
    shown: int | None,
    *,
    notice: str | None = None,
    error: str | None = None,
    problems: list[Problem] | None = None,
    status_code: int = 200,
) -> Response:
    chosen = found.version(shown) if shown is not None else None
    chosen = chosen or found.latest
    previous = found.before(chosen.number) if chosen else None
    changes = diff(previous.body if previous else "", chosen.body) if chosen else []
    return console_of(request).render(
        request,
        "template_history.html",
        {
            "found": found,
            "meta": found.meta,
            "chosen": chosen,
            "previous": previous,
            "changes": changes,
            "notice": notice,
            "error": error,
            "problems": problems or [],
            "kinds": KINDS,
        },
        status_code=status_code,
    )


@router.get("/console/templates/{template_id}/history", response_class=HTMLResponse)
async def history(
    request: Request,
    *,
    found: Found,
    viewer: Admin,
    version: str = "",
    done: str = "",
    source: str = "",
) -> Response:
    """Every version with who saved it, when and why, and what one changed from the one before."""
    notice = _notice(done, version, source)
    return await _history(request, found, as_id(version), notice=notice)


@router.post("/console/templates/{template_id}/rollback", response_class=HTMLResponse)
async def rollback(
    request: Request, *, found: Found, session: Database, viewer: Admin, form: CheckedForm
) -> Response:
    """Publish a new version with an old version's text, checked again first."""
    template_id = found.id
    source = as_id(form.get("version"))
    try:
        if source is None:
            raise VersionNotFound
        number = await roll_back(
            session,
            template_id,
            source,
            author=viewer.user_id,
            now=console_of(request).config.clock(),
            renderer=Renderer(),
        )
    except TemplateNotFound:
        raise  # the "no such template" page, not a refusal
    except EditRefused as exc:
        await session.rollback()
        found = await edited(session, template_id)
        if isinstance(exc, NotPublishable):
            error = f"Version {source} was not published again: its text has problems to fix."
        else:
            error = str(exc)
        return await _history(
            request,
            found,
            source,
            error=error,
            problems=exc.problems if isinstance(exc, NotPublishable) else None,
            status_code=_refusal_status(exc),
        )
    await audit(
        session,
        viewer,
        "console.template.rolled_back",
        "template",
        template_id,
        version=number,
        from_version=source,
    )
    await session.commit()
    return see_other(
        _path(template_id, "history") + f"?done=rolled_back&version={number}&source={source}"
    )
