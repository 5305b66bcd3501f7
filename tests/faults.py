"""Faults for tests: a database that restarts (a TCP proxy in front of PostgreSQL), and role
processes that can be SIGKILLed and started again in a fraction of a second."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import multiprocessing
import os
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import suppress
from multiprocessing.context import ForkServerContext
from multiprocessing.process import BaseProcess
from pathlib import Path

from sqlalchemy.engine import URL


class DatabaseProxy:
    """A TCP proxy between the roles and PostgreSQL. `restart` does to the roles what a database
    restart does: every connection is dropped, new ones are refused for a while, then accepted."""

    def __init__(self, target: URL) -> None:
        self.target_host = target.host or "127.0.0.1"
        self.target_port = target.port or 5432
        self.port = 0
        self.dropped = 0  # connections cut by restarts
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.StreamWriter] = set()
        self._pipes: set[asyncio.Task[None]] = set()

    def url(self, target: URL) -> URL:
        """`target`, reached through the proxy."""
        return target.set(host="127.0.0.1", port=self.port)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Refuse new connections (nothing listens on the port) and drop every open one."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        self.dropped += len(self._links) // 2
        for writer in list(self._links):
            writer.transport.abort()  # a reset, as when the server process goes away
        self._links.clear()
        for pipe in list(self._pipes):
            pipe.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    async def restart(self, down_for: float) -> None:
        await self.stop()
        await asyncio.sleep(down_for)
        await self.start()  # the same port again

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(
                self.target_host, self.target_port
            )
        except OSError:
            writer.transport.abort()
            return
        self._links.update((writer, upstream_writer))
        for source, sink in ((reader, upstream_writer), (upstream_reader, writer)):
            pipe = asyncio.get_running_loop().create_task(self._pipe(source, sink))
            self._pipes.add(pipe)
            pipe.add_done_callback(self._pipes.discard)

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            self._links.discard(sink)
            sink.transport.abort()


# --- role processes --------------------------------------------------------------------------

_PRELOAD = ["service.__main__", "service.runtime", "service.logs"]


@functools.cache
def forkserver() -> ForkServerContext:
    """A fork server that has imported the service once (aiogram's types alone take seconds):
    each role process forked from it starts at once, as if `python -m service ROLE` had."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(_PRELOAD)
    return context


def _run_role(role: str, env: Mapping[str, str], log: str) -> None:
    """In the forked process: the role's environment and log file, then `aftercare ROLE`."""
    from service.__main__ import main

    for key in [key for key in os.environ if key.startswith("AFTERCARE_")]:
        del os.environ[key]
    os.environ.update(env)
    with open(log, "ab", buffering=0) as out:
        os.dup2(out.fileno(), 1)
        os.dup2(out.fileno(), 2)
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
    sys.exit(main([role]))


class RoleProcess:
    """One role (`bot`, `worker` or `web`) in a process of its own, logging to `log`."""

    def __init__(self, role: str, env: Mapping[str, str], log: Path) -> None:
        self.role = role
        self.env = dict(env)
        self.log = log
        self.process: BaseProcess | None = None

    async def start(self) -> None:
        process = forkserver().Process(
            target=_run_role, args=(self.role, self.env, str(self.log)), name=self.role
        )
        await asyncio.to_thread(process.start)  # blocks while the fork server first imports
        self.process = process

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.is_alive()

    async def kill(self) -> None:
        """SIGKILL: no chance to finish anything."""
        assert self.process is not None
        self.process.kill()
        await asyncio.to_thread(self.process.join, 10)
        assert self.process.exitcode == -9, self.process.exitcode

    async def stop(self, within: float = 30) -> int | None:
        """SIGTERM, and its exit status once it has stopped."""
        if self.process is None:
            return None
        if self.process.exitcode is None:
            with suppress(ProcessLookupError):
                self.process.terminate()
        await asyncio.to_thread(self.process.join, within)
        if self.process.exitcode is None:
            self.process.kill()
            await asyncio.to_thread(self.process.join, 5)
            raise AssertionError(f"the {self.role} role did not stop within {within}s")
        return self.process.exitcode


async def warm_forkserver() -> None:
    """Start the fork server (and its imports) ahead of the first role."""
    ctx = forkserver()
    process = ctx.Process(target=_noop)
    await asyncio.to_thread(process.start)
    await asyncio.to_thread(process.join, 60)


def _noop() -> None:
    pass


@contextlib.asynccontextmanager
async def proxied(target: URL) -> AsyncIterator[DatabaseProxy]:
    proxy = DatabaseProxy(target)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()
