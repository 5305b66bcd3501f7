"""The web role: status page, health endpoints, Telegram's webhook, and the console."""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from service import metrics
from service.config import WEBHOOK_PATH
from service.web import console as console_access
from service.web.console import ConsoleConfig
from service.web.status import database_status, overview

if TYPE_CHECKING:
    from aiogram import Bot, Dispatcher

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "web"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@dataclass(frozen=True)
class TelegramWebhook:
    """What the webhook needs: a Bot (updates are bound to it), the dispatcher, the secret.
    The Bot's session belongs to the caller, who closes it."""

    bot: Bot
    dispatcher: Dispatcher
    secret: SecretStr


def create_app(
    engine: AsyncEngine,
    *,
    sandbox_url: str | None = None,
    webhook: TelegramWebhook | None = None,
    console: ConsoleConfig | None = None,
) -> FastAPI:
    """The ASGI app. The engine belongs to the caller, who disposes of it. With ``webhook``,
    Telegram's updates are received at ``POST /telegram/webhook``. The console (``/login``,
    ``/console``) follows ``console`` (by default: plain-http cookies, 30 minutes idle)."""
    app = FastAPI(title="Aftercare", docs_url=None, redoc_url=None, openapi_url=None)
    pages = Jinja2Templates(directory=TEMPLATES)

    @app.get("/", response_class=HTMLResponse)
    async def status_page(request: Request) -> HTMLResponse:
        """The state of the service, for whoever opens the console's address."""
        status = await overview(engine)
        return pages.TemplateResponse(
            request,
            "status.html",
            {"status": status, "database": status.database, "sandbox_url": sandbox_url},
            status_code=200 if status.database.ready else 503,
        )

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        """The database answers and its schema is at the latest migration."""
        database = await database_status(engine)
        if database.ready:
            return JSONResponse({"status": "ready", "revision": database.revision})
        return JSONResponse(
            {"status": database.problem, "revision": database.revision, "head": database.head},
            status_code=503,
        )

    @app.get("/metrics")
    async def prometheus_metrics() -> Response:
        """Prometheus metrics: this process's counters, and the outbox and alert figures read
        from the database now (``aftercare_database_up`` 0 when it cannot be read). No sign-in:
        nothing in it names anyone; keep the port private all the same."""
        snapshot = await metrics.database_snapshot(engine)
        return Response(
            metrics.render(snapshot),
            media_type=metrics.CONTENT_TYPE,
            headers={"Cache-Control": "no-store"},
        )

    console_access.install(app, engine, pages, console or ConsoleConfig(), sandbox_url=sandbox_url)
    if webhook is not None:
        _mount_webhook(app, webhook)
    return app


def _mount_webhook(app: FastAPI, webhook: TelegramWebhook) -> None:
    from aiogram.types import Update
    from pydantic import ValidationError

    from service.bot.app import process_update
    from service.db import is_transient

    expected = webhook.secret.get_secret_value().encode()

    @app.post(WEBHOOK_PATH)
    async def telegram_webhook(request: Request) -> JSONResponse:
        """An update from Telegram: 200 only once it is stored (or was stored before)."""
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, expected):
            log.warning("webhook request without the right secret token refused")
            return JSONResponse({"ok": False, "error": "unauthorized"}, status_code=401)
        try:
            update = Update.model_validate(await request.json(), context={"bot": webhook.bot})
        except (ValueError, ValidationError):  # not JSON, or not an Update
            log.warning("webhook request that is not a Telegram update refused")
            return JSONResponse({"ok": False, "error": "not an update"}, status_code=400)
        try:
            await process_update(webhook.bot, webhook.dispatcher, update)
        except Exception as exc:
            # Only the id and the kind of error: the exception's text may quote what was written.
            if is_transient(exc):
                log.warning(
                    "update %s not recorded (%s); Telegram will deliver it again",
                    update.update_id,
                    type(exc).__name__,
                )
                return JSONResponse({"ok": False, "error": "unavailable"}, status_code=503)
            log.error("update %s failed (%s)", update.update_id, type(exc).__name__)
            return JSONResponse({"ok": False, "error": "failed"}, status_code=500)
        return JSONResponse({"ok": True})
