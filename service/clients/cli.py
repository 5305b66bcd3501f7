"""`aftercare clients ...`: one client's data, on their request: export it as JSON, or erase it.

Both are in the audit log as the command line's doing (``client.exported``, ``client.erased``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TextIO

from service.config import Settings
from service.errors import AftercareError


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    clients = commands.add_parser(
        "clients", help="one client's data on request: export it as JSON, or erase it"
    )
    actions = clients.add_subparsers(dest="action", required=True, metavar="ACTION")
    export = actions.add_parser(
        "export",
        help="everything stored about a client, as one JSON document (audited)",
        description="Write everything the service holds about one client as JSON: profile, "
        "consent, what they wrote and were sent, check-ins, signals, alerts, and who looked.",
    )
    export.add_argument("client_id", type=int, metavar="ID", help="the client's id")
    export.add_argument(
        "--out",
        type=Path,
        metavar="FILE",
        help="write to FILE (readable by its owner only) instead of standard output",
    )
    erase = actions.add_parser(
        "erase",
        help="erase a client's data on their request, keeping a tombstone (audited)",
        description="Erase what the client wrote and what is stored about them, as /delete "
        "does; their record stays with its code and the state 'erased'. Cannot be undone.",
    )
    erase.add_argument("client_id", type=int, metavar="ID", help="the client's id")
    erase.add_argument("--yes", action="store_true", help="erase: this cannot be undone")


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path``, readable and writable by its owner only."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # an existing file keeps its mode otherwise
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)


async def run(settings: Settings, args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    import sqlalchemy as sa
    from sqlmodel import col

    from service.audit.service import CLI
    from service.clients.models import Client, ClientState
    from service.clients.privacy import erase, export
    from service.columns import utcnow
    from service.db import database, session_factory

    if args.action == "erase" and not args.yes:
        raise AftercareError(
            f"erasing client {args.client_id} cannot be undone: add --yes to erase it."
        )
    async with database(settings, migrate=False) as engine, session_factory(engine)() as session:
        client = await session.scalar(
            sa.select(Client).where(col(Client.id) == args.client_id).with_for_update()
        )
        if client is None:
            raise AftercareError(f"there is no client {args.client_id}.")
        if args.action == "export":
            document = await export(session, client, now=utcnow(), by=CLI)
            text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
            if args.out is not None:
                _write_private(args.out, text)
            await session.commit()  # the audit entry, once the document is written
            if args.out is None:
                out.write(text)
            else:
                print(f"Client {client.code}'s data is in {args.out}.", file=out)
            return 0
        if client.state is ClientState.erased:
            raise AftercareError(f"client {client.code} is erased already.")
        await erase(session, client, utcnow(), by=CLI)
        await session.commit()
        print(f"Client {client.code} is erased; the record remains as a tombstone.", file=out)
        return 0
