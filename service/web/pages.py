"""The console's pages past sign-in, one module each; `console.install` mounts them."""

from __future__ import annotations

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    from service.web import alerts, clients, engagement, library, sandbox, team

    return [
        alerts.router,
        clients.router,
        library.router,
        team.router,
        engagement.router,
        sandbox.router,
    ]
