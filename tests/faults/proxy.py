"""A TCP proxy between the app and PostgreSQL that a test can cut and restore: to the app it
looks as a restarted or unreachable database server does (connections dropped, new ones
refused), while other users of the real server are left alone."""

from __future__ import annotations

import contextlib
import socket
import threading


class CuttableProxy:
    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._up = True
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> CuttableProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cut()
        _hang_up(self._listener)  # wakes the accepting thread: no connection after the test

    def cut(self) -> None:
        """Drop every connection and refuse new ones, until ``restore``."""
        with self._lock:
            self._up = False
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _hang_up(sock)

    def restore(self) -> None:
        with self._lock:
            self._up = True

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                up = self._up
            if not up:
                client.close()  # as a server that is not listening: the client sees it at once
                continue
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self._lock:
                up = self._up  # cut while connecting: this one goes too
                if up:
                    self._sockets += [client, server]
            if not up:
                server.close()
                client.close()
                continue
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=_pipe, args=(a, b), daemon=True).start()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        with contextlib.suppress(OSError):  # either side closed: the pipe ends
            while data := source.recv(65536):
                sink.sendall(data)
    finally:
        for sock in (source, sink):
            _hang_up(sock)


def _hang_up(sock: socket.socket) -> None:
    """Shut down, then close. Closing alone leaves a thread blocked reading the socket holding
    it open: the server never hears the hang-up and keeps the dead client's transaction (and its
    row locks) open for good."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
