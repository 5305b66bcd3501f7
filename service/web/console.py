"""The console's access: sign-in and sign-out pages, the session cookie, CSRF, and the
dependencies later pages use: ``current_user``, ``require(*roles)`` and ``checked_form``.

A page that needs a signed-in user takes ``Annotated[SignedIn, Depends(current_user)]`` (or
``Depends(require(ConsoleRole.admin))``); a POST handler takes ``Annotated[Form,
Depends(checked_form)]``, which refuses a form without the session's CSRF token; templates
rendered with ``Console.render`` have ``viewer`` and ``csrf_token`` for their forms.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any, TypeVar
from urllib.parse import parse_qs, quote, urlsplit

import sqlalchemy as sa
from fastapi import APIRouter, Depends, FastAPI, Path, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import col

from service.alerts.models import Alert, AlertStatus
from service.audit.models import ActorKind
from service.audit.service import Actor, record_audit
from service.clients.models import Client, ClientState
from service.columns import utcnow
from service.config import Settings
from service.console.accounts import (
    AccessPolicy,
    SignedIn,
    SignInOutcome,
    change_password,
    resume,
    sign_in,
    sign_out,
)
from service.content.service import Messaging
from service.errors import AccountError
from service.signals.models import Severity
from service.staff.models import ConsoleRole, ConsoleUser, StaffMember
from service.telegram import SANDBOX_USERNAME, bot_username

log = logging.getLogger(__name__)

SESSION_COOKIE = "aftercare_session"
LOGIN_CSRF_COOKIE = "aftercare_login_csrf"
MAX_FORM_BYTES = 64 * 1024
REFUSED = "The email or password is not right."
LOCKED = "Too many attempts to sign in. Try again later."
THROTTLED = "Too many attempts to sign in from your network. Try again later."

Form = dict[str, str]


async def sandbox_username() -> str:
    return SANDBOX_USERNAME


@dataclass(frozen=True)
class ConsoleConfig:
    """What the console needs beyond the database: its access policy and clock, the process's
    messaging (alerts acted on in the console are shown in Telegram as after a button press),
    and what new invites are made with."""

    policy: AccessPolicy = field(default_factory=AccessPolicy)
    secure_cookies: bool = False  # the console is reached over https
    clock: Callable[[], datetime] = utcnow
    messaging: Messaging = field(default_factory=Messaging)
    bot_username: Callable[[], Awaitable[str]] = sandbox_username  # for invite links
    invite_ttl: timedelta = timedelta(days=14)
    default_timezone: str = "America/New_York"
    default_language: str = "en"

    @classmethod
    def from_settings(cls, settings: Settings, messaging: Messaging | None = None) -> ConsoleConfig:
        known: list[str] = []

        async def username() -> str:  # asked of Telegram once, when the first invite is made
            if not known:
                known.append(await bot_username(settings))
            return known[0]

        return cls(
            policy=AccessPolicy.from_settings(settings),
            secure_cookies=settings.console_url.startswith("https://"),
            messaging=messaging or Messaging(),
            bot_username=username,
            invite_ttl=timedelta(days=settings.invite_ttl_days),
            default_timezone=settings.default_timezone,
            default_language=settings.default_language,
        )


@dataclass(frozen=True)
class Console:
    """The console's parts, kept in ``app.state.console`` for the dependencies."""

    sessions: async_sessionmaker[AsyncSession]
    pages: Jinja2Templates
    config: ConsoleConfig
    sandbox_url: str | None = None  # the sandbox Bot API, when the service runs on it

    def render(
        self,
        request: Request,
        template: str,
        context: dict[str, Any] | None = None,
        *,
        status_code: int = 200,
    ) -> HTMLResponse:
        viewer: SignedIn | None = getattr(request.state, "viewer", None)
        response = self.pages.TemplateResponse(
            request,
            template,
            {
                "viewer": viewer,
                "csrf_token": viewer.csrf_token if viewer else None,
                "sandbox": self.sandbox_url is not None,
                **(context or {}),
            },
            status_code=status_code,
        )
        return private(response)


R = TypeVar("R", bound=Response)


def private(response: R) -> R:
    # Pages about people are not cached, framed or sniffed.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def see_other(path: str) -> Response:
    """After a form: go (303, a GET) to a page of the console."""
    return private(RedirectResponse(path, status_code=303))


class SignInRequired(Exception):
    """No live session."""


class NotAllowed(Exception):
    """The signed-in user's role may not do this."""


class CsrfRefused(Exception):
    """A form without the right CSRF token."""


def console_of(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


async def database(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request."""
    async with console_of(request).sessions() as session:
        yield session


Database = Annotated[AsyncSession, Depends(database)]


async def current_user(request: Request, session: Database) -> SignedIn:
    """The signed-in user, or: a page redirects to /login, anything else answers 401."""
    cached: SignedIn | None = getattr(request.state, "viewer", None)
    if cached is not None:
        return cached
    token = request.cookies.get(SESSION_COOKIE)
    console = console_of(request)
    viewer = None
    if token:
        viewer = await resume(
            session, token, now=console.config.clock(), policy=console.config.policy
        )
    if viewer is None:
        raise SignInRequired
    request.state.viewer = viewer
    return viewer


Viewer = Annotated[SignedIn, Depends(current_user)]


def require(*roles: ConsoleRole) -> Callable[..., Awaitable[SignedIn]]:
    """A dependency: the signed-in user, if their role is one of ``roles`` (else a 403 page)."""

    async def allowed(viewer: Viewer) -> SignedIn:
        if viewer.role not in roles:
            raise NotAllowed
        return viewer

    return allowed


MAX_ID = 2**31 - 1  # ids are PostgreSQL integers
# A row's id in a path: anything else (a word, zero, past PostgreSQL's integers) is a 422.
Id = Annotated[int, Path(ge=1, le=MAX_ID)]


def as_number(text: str | None, *, low: int = 1, high: int = MAX_ID) -> int | None:
    """A whole number typed in a query or a form, if it is one within [low, high]: ASCII digits
    only (``"²".isdigit()`` is true, and ``int("²")`` fails), never past PostgreSQL's integers."""
    text = (text or "").strip()
    if not text.isascii() or not text.isdecimal() or len(text) > len(str(high)):
        return None
    number = int(text)
    return number if low <= number <= high else None


def as_id(text: str | None) -> int | None:
    """A row's id typed in a query or a form, or None."""
    return as_number(text)


Admin = Annotated[SignedIn, Depends(require(ConsoleRole.admin))]
# Acting on clients and alerts: admins, and coordinators for their own clients (viewers only look).
Acting = Annotated[SignedIn, Depends(require(ConsoleRole.admin, ConsoleRole.coordinator))]


async def read_form(request: Request) -> Form:
    """An ``application/x-www-form-urlencoded`` body, first value of each field."""
    declared = request.headers.get("content-length", "")
    if declared.isdecimal() and int(declared) > MAX_FORM_BYTES:
        raise CsrfRefused
    body = bytearray()
    async for chunk in request.stream():  # stops reading past the limit, whatever was declared
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise CsrfRefused
    parsed = parse_qs(bytes(body).decode("utf-8", errors="replace"), keep_blank_values=True)
    return {key: values[0] for key, values in parsed.items()}


async def checked_form(request: Request, viewer: Viewer) -> Form:
    """The form of a signed-in POST, if it carries the session's CSRF token (else 403)."""
    form = await read_form(request)
    if not same(form.get("csrf_token", ""), viewer.csrf_token):
        log.warning(
            "console form without the session's CSRF token refused (user %s)", viewer.user_id
        )
        raise CsrfRefused
    return form


CheckedForm = Annotated[Form, Depends(checked_form)]


def same(given: str, expected: str) -> bool:
    return bool(given) and hmac.compare_digest(given.encode(), expected.encode())


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of this site only (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/console"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/console"
    return target


def wants_page(request: Request) -> bool:
    return request.method in {"GET", "HEAD"} and "text/html" in request.headers.get("accept", "")


def visible_clients(viewer: SignedIn) -> sa.ColumnElement[bool]:
    """The clients a user may see: all of them, or a coordinator's own (none while their
    account is not linked to a staff member)."""
    if viewer.role is not ConsoleRole.coordinator:
        return sa.true()
    if viewer.staff_member_id is None:
        return sa.false()
    return col(Client.coordinator_id) == viewer.staff_member_id


async def staff_members(session: AsyncSession, *, active_only: bool = True) -> list[StaffMember]:
    """The care team by name, for the console's choices (only active members can be chosen)."""
    query = sa.select(StaffMember).order_by(col(StaffMember.name), col(StaffMember.id))
    if active_only:
        query = query.where(col(StaffMember.active))
    return list(await session.scalars(query))


def actor_of(viewer: SignedIn) -> Actor:
    """A console user as the audit log and the use cases name who acted."""
    return Actor(ActorKind.console_user, viewer.user_id, viewer.staff_member_id)


async def audit(
    session: AsyncSession,
    viewer: SignedIn,
    action: str,
    subject_type: str,
    subject_id: int | str | None,
    **detail: Any,
) -> None:
    """Record what a console user looked at or changed (ids and categories, never text), in
    the transaction of the request; the caller commits."""
    await record_audit(
        session,
        ActorKind.console_user,
        action,
        subject_type,
        subject_id,
        detail=detail,
        actor_id=viewer.user_id,
    )


def install(
    app: FastAPI,
    engine: AsyncEngine,
    pages: Jinja2Templates,
    config: ConsoleConfig,
    *,
    sandbox_url: str | None = None,
) -> None:
    """Mount the console's pages and the error handlers its dependencies rely on."""
    from service.db import session_factory
    from service.web.pages import routers

    app.state.console = Console(session_factory(engine), pages, config, sandbox_url)

    @app.exception_handler(SignInRequired)
    async def _sign_in_required(request: Request, exc: SignInRequired) -> Response:
        if wants_page(request):
            wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return see_other(f"/login?next={quote(wanted, safe='/')}")
        response = PlainTextResponse("Sign in first.", status_code=401)
        response.headers["WWW-Authenticate"] = 'Cookie realm="console"'
        return private(response)

    @app.exception_handler(NotAllowed)
    async def _not_allowed(request: Request, exc: NotAllowed) -> Response:
        return console_of(request).render(
            request,
            "forbidden.html",
            {"reason": "Your role does not give access to this page."},
            status_code=403,
        )

    @app.exception_handler(CsrfRefused)
    async def _csrf_refused(request: Request, exc: CsrfRefused) -> Response:
        return console_of(request).render(
            request,
            "forbidden.html",
            {
                "reason": "This form had expired or did not come from the console. Go back, "
                "reload the page and try again."
            },
            status_code=403,
        )

    app.include_router(router)
    for pages_router in routers():
        app.include_router(pages_router)


router = APIRouter()


def _login_page(
    request: Request,
    *,
    next_path: str,
    email: str = "",
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    console = console_of(request)
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = console.render(
        request,
        "login.html",
        {"login_csrf": token, "next_path": next_path, "email": email, "error": error},
        status_code=status_code,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=console.config.secure_cookies,
        path="/login",
    )
    if status_code == 429:
        response.headers["Retry-After"] = str(int(console.config.policy.lockout.total_seconds()))
    return response


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, next: str | None = None) -> Response:
    return _login_page(request, next_path=safe_next(next))


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request, session: Database) -> Response:
    console = console_of(request)
    form = await read_form(request)
    if not same(form.get("csrf_token", ""), request.cookies.get(LOGIN_CSRF_COOKIE, "")):
        log.warning("console sign-in without the form's CSRF token refused")
        raise CsrfRefused
    next_path = safe_next(form.get("next"))
    email = form.get("email", "").strip()
    result = await sign_in(
        session,
        email=email,
        password=form.get("password", ""),
        ip=request.client.host if request.client else "unknown",
        now=console.config.clock(),
        policy=console.config.policy,
    )
    if result.outcome is SignInOutcome.throttled:
        return _login_page(
            request, next_path=next_path, email=email, error=THROTTLED, status_code=429
        )
    if result.outcome is SignInOutcome.locked:
        return _login_page(request, next_path=next_path, email=email, error=LOCKED, status_code=429)
    if result.outcome is SignInOutcome.refused:
        return _login_page(request, next_path=next_path, email=email, error=REFUSED)
    assert result.token is not None
    response = see_other(next_path)
    response.set_cookie(
        SESSION_COOKIE,
        result.token,
        httponly=True,
        samesite="lax",
        secure=console.config.secure_cookies,
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(
    request: Request, session: Database, viewer: Viewer, form: CheckedForm
) -> Response:
    await sign_out(session, viewer)
    request.state.viewer = None
    response = see_other("/login")
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        httponly=True,
        samesite="lax",
        secure=console_of(request).config.secure_cookies,
    )
    return response


SEVERITIES = [Severity.critical, Severity.high, Severity.medium, Severity.low, Severity.info]


@router.get("/console", response_class=HTMLResponse)
async def home(request: Request, session: Database, viewer: Viewer) -> Response:
    """Who is signed in, and the numbers of the clients they may see."""
    mine = visible_clients(viewer)
    alerts = await session.execute(
        sa.select(col(Alert.severity), col(Alert.status), sa.func.count())
        .join(Client, col(Client.id) == col(Alert.client_id))
        .where(col(Alert.status) != AlertStatus.resolved, mine)
        .group_by(col(Alert.severity), col(Alert.status))
    )
    counts: dict[tuple[str, str], int] = {
        (str(severity), str(status)): int(number) for severity, status, number in alerts
    }
    by_severity = [
        (
            severity.value,
            counts.get((severity.value, AlertStatus.open.value), 0),
            counts.get((severity.value, AlertStatus.acknowledged.value), 0),
        )
        for severity in SEVERITIES
    ]
    active = await session.scalar(
        sa.select(sa.func.count())
        .select_from(Client)
        .where(col(Client.state) == ClientState.active, mine)
    )
    return console_of(request).render(
        request,
        "console.html",
        {
            "by_severity": by_severity,
            "active_clients": active or 0,
            "own_only": viewer.role is ConsoleRole.coordinator,
            "unlinked": viewer.role is ConsoleRole.coordinator and viewer.staff_member_id is None,
        },
    )


@router.get("/console/users", response_class=HTMLResponse)
async def users(request: Request, session: Database, viewer: Admin) -> Response:
    """Console users (admins only): email, role, state, last sign-in."""
    listed = (await session.scalars(sa.select(ConsoleUser).order_by(col(ConsoleUser.id)))).all()
    return console_of(request).render(request, "users.html", {"users": listed})


@router.get("/console/account", response_class=HTMLResponse)
async def account(request: Request, viewer: Viewer) -> Response:
    """The signed-in user's own account: changing their password."""
    return console_of(request).render(request, "account.html")


@router.post("/console/account/password", response_class=HTMLResponse)
async def new_password(
    request: Request, session: Database, viewer: Viewer, form: CheckedForm
) -> Response:
    new = form.get("new_password", "")
    problem = None
    if new != form.get("new_password_again", ""):
        problem = "The two new passwords differ."
    else:
        try:
            await change_password(session, viewer, form.get("current_password", ""), new)
        except AccountError as exc:  # a wrong current password, or a weak new one
            problem = str(exc)
    if problem is not None:
        await session.rollback()
        return console_of(request).render(
            request, "account.html", {"error": problem}, status_code=400
        )
    return console_of(request).render(
        request, "account.html", {"notice": "Your password is changed; other sessions ended."}
    )
