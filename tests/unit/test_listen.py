"""The web role's socket: connections it accepts send small writes at once (TCP_NODELAY)."""

from __future__ import annotations

import socket

from service.runtime import listen


def test_accepted_connections_do_not_wait_for_nagle() -> None:
    with listen("127.0.0.1", 0) as listener:
        port = listener.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)) as browser:
            accepted, _ = listener.accept()
            with accepted:
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
            # Not the default: the browser's own socket, made without it, does not have it.
            assert browser.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
