"""The web role: the status page and health endpoints; the console and the webhook mount here."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.ext.asyncio import AsyncEngine

from service.web.status import database_status, overview

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "web"


def create_app(engine: AsyncEngine, *, sandbox_url: str | None = None) -> FastAPI:
    """The ASGI app. The engine belongs to the caller, who disposes of it."""
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

    return app
