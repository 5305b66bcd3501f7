"""The web role: health endpoints now; the console and the Telegram webhook mount here."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncEngine

from service.migrate import current_revision, head_revision


def create_app(engine: AsyncEngine) -> FastAPI:
    """The ASGI app. The engine belongs to the caller, who disposes of it."""
    app = FastAPI(title="Aftercare", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.engine = engine

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz(request: Request) -> JSONResponse:
        """The database answers and its schema is at the latest migration."""
        engine: AsyncEngine = request.app.state.engine
        try:
            async with engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
            revision = await current_revision(engine)
        except (OSError, sa.exc.SQLAlchemyError) as exc:
            return JSONResponse(
                {"status": "unavailable", "database": type(exc).__name__}, status_code=503
            )
        head = head_revision()
        if revision != head:
            return JSONResponse(
                {"status": "migrating", "revision": revision, "head": head}, status_code=503
            )
        return JSONResponse({"status": "ready", "revision": revision})

    return app
