"""How long a request may wait on PostgreSQL or Redis before it gives up and answers 503.

Without bounds a stalled server (a frozen PostgreSQL, a Redis that accepts the connection and never answers) ties
up every worker thread and the service stops answering altogether. Three bounds per server:

* **connect** — opening a connection (libpq ``connect_timeout``; redis-py ``socket_connect_timeout``);
* **statement** — PostgreSQL ``statement_timeout``: the server cancels a statement running longer
  (a lock wait, a runaway scan) and the connection stays usable;
* **socket** — how long the client waits for any answer at all. This is the one that catches a server that does
  not run (SIGSTOP, a network path that black-holes packets): neither the server's statement timeout nor TCP
  notices those. On expiry the connection is closed (it is in an unknown state) and the pool makes a new one.

``idle_check`` replaces SQLAlchemy's ``pool_pre_ping`` (a round trip before every checkout, a fifth of the
token endpoint's round trips): only a connection that sat idle in the pool longer than this is checked first; a
dead one is replaced there transparently. One that dies mid-request fails that request (503, the client
retries) and invalidates the rest of the pool, so the next request reconnects.

``None`` means unbounded: batch commands (``tongban migrate``, ``health reissue``) use no statement or socket
bound, only the connect one. The service's values come from ``service.config`` (``TONGBAN_DB_*``,
``TONGBAN_REDIS_*``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Timeouts:
    """Seconds; ``None`` for no bound."""

    db_connect: float = 2.0
    db_statement: float | None = None
    db_socket: float | None = None
    redis_connect: float = 2.0
    redis_socket: float | None = 2.0
    idle_check: float = 10.0


# What the web service runs with unless configured otherwise (service.config documents the variables).
SERVICE = Timeouts(db_connect=2.0, db_statement=1.5, db_socket=2.0, redis_connect=1.0, redis_socket=1.0, idle_check=10.0)
BATCH = Timeouts()

__all__ = ["BATCH", "SERVICE", "Timeouts"]
