"""An in-process TCP proxy to inject network faults between the service and PostgreSQL or Redis.

``FaultProxy(target_port)`` listens on an ephemeral port and relays every connection to the target. Faults:

* ``stall()`` — keep every connection open but relay nothing (a frozen server or a black-holed path: the
  client's kernel still sees its bytes acknowledged, so only a client-side bound notices);
* ``refuse()`` — close every relayed connection and refuse new ones (a server that is down);
* ``heal()`` — back to normal relaying.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading


class FaultProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1"):
        self.target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._mode = "relay"
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True, name="fault-proxy").start()

    # -- faults --------------------------------------------------------------------------------------
    def stall(self) -> None:
        self._mode = "stall"

    def refuse(self) -> None:
        self._mode = "refuse"
        self._drop_all()

    def heal(self) -> None:
        self._mode = "relay"

    def close(self) -> None:
        self._closed.set()
        self._listener.close()
        self._drop_all()

    # -- relaying ------------------------------------------------------------------------------------
    def _drop_all(self) -> None:
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for a, b in pairs:
            for s in (a, b):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    s.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self._mode == "refuse":
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=2)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._pairs.append((client, upstream))
            threading.Thread(target=self._relay, args=(client, upstream), daemon=True).start()

    def _relay(self, a: socket.socket, b: socket.socket) -> None:
        selector = selectors.DefaultSelector()
        selector.register(a, selectors.EVENT_READ, b)
        selector.register(b, selectors.EVENT_READ, a)
        try:
            while not self._closed.is_set():
                if self._mode == "stall":
                    selector.select(timeout=0.05)  # hold the bytes: nobody reads them
                    threading.Event().wait(0.05)
                    continue
                for key, _ in selector.select(timeout=0.2):
                    data = key.fileobj.recv(65536)
                    if not data:
                        return
                    key.data.sendall(data)
        except OSError:
            return
        finally:
            selector.close()
            for s in (a, b):
                with contextlib.suppress(OSError):
                    s.close()
