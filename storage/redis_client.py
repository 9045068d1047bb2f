"""One way to open Redis: bounded waits (``storage.timeouts``), at most one immediate retry, and the deployment's
topology named by the URL.

redis-py's default retries a failed command three times with exponential backoff: with Redis down a request
waits seconds and then fails anyway, and every thread of the service does the same. Here a command is retried
once, at once, and only when the connection broke (a pooled connection Redis closed at its restart: the retry
runs on a fresh one); a timeout is not retried, it already took the whole bound.

URLs (``REDIS_URL``):

* ``redis://[[user]:password@]host[:port][/db]``, ``rediss://`` (TLS), ``unix://path`` — one server.
* ``redis+sentinel://[[user]:password@]host[:port][,host[:port]...]/service[/db]`` (``rediss+sentinel://``: TLS to
  the master) — Redis Sentinel: the sentinels (port 26379 by default) name the current master of ``service``, and a
  failover moves the client to the new master (redis-py ``Sentinel.master_for``). The password is the master's;
  the sentinels are asked without one.
* ``redis+cluster://[[user]:password@]host[:port][,host[:port]...]`` (``rediss+cluster://``) — Redis Cluster, from
  any of the given nodes (redis-py ``RedisCluster``); database 0 only, as the cluster has no other.

Everything tongban stores touches one key per command, transaction or script (``storage.kv``, the counter's
replay cache and challenges), so no command spans hash slots and nothing needs hash tags in a cluster
(``tests/storage/test_redis_topologies.py`` runs the store's contract against a real three-node cluster).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

from storage.errors import StorageUnavailable, redis_unavailable_errors
from storage.timeouts import Timeouts

SCHEMES = ("redis://", "rediss://", "unix://", "redis+sentinel://", "rediss+sentinel://", "redis+cluster://",
           "rediss+cluster://")
SENTINEL_PORT = 26379


def client(url: str, timeouts: Timeouts, **options: Any) -> Any:
    """A redis-py client for ``url`` (one server, Sentinel or Cluster: see the module) with ``timeouts``' bounds."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    bounds = dict(socket_connect_timeout=timeouts.redis_connect, socket_timeout=timeouts.redis_socket,
                  retry=Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,)), **options)
    scheme = url.split("://", 1)[0]
    if scheme.endswith("+sentinel"):
        return _sentinel(url, bounds)
    if scheme.endswith("+cluster"):
        return _cluster(url, bounds)
    return redis.Redis.from_url(url, health_check_interval=0, **bounds)


def _hosts(netloc: str, default_port: int) -> tuple[str | None, str | None, list[tuple[str, int]]]:
    """(user, password, [(host, port)...]) of ``[[user]:password@]host[:port][,host[:port]...]``."""
    credentials, _, hosts = netloc.rpartition("@")
    user, _, password = credentials.partition(":") if credentials else ("", "", "")
    found = []
    for part in hosts.split(","):
        host, sep, port = part.strip().rpartition(":") if not part.strip().endswith("]") else (part.strip(), "", "")
        if not sep:
            host, port = part.strip(), str(default_port)
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise StorageUnavailable(f"REDIS_URL names an invalid host {part!r}")
        found.append((host.strip("[]"), int(port)))
    return unquote(user) or None, unquote(password) or None, found


def _sentinel(url: str, bounds: dict) -> Any:
    from redis.sentinel import Sentinel

    parts = urlsplit(url)
    user, password, sentinels = _hosts(parts.netloc, SENTINEL_PORT)
    path = [p for p in parts.path.split("/") if p]
    if not path or len(path) > 2 or (len(path) == 2 and not path[1].isdigit()):
        raise StorageUnavailable("a Sentinel REDIS_URL reads redis+sentinel://host[:port][,host[:port]...]/service[/db]")
    sentinel_bounds = {k: bounds[k] for k in ("socket_connect_timeout", "socket_timeout")}
    client_options = {**bounds, "username": user, "password": password, "db": int(path[1]) if len(path) == 2 else 0}
    if url.startswith("rediss+"):
        client_options["ssl"] = True
    return Sentinel(sentinels, sentinel_kwargs=sentinel_bounds).master_for(path[0], **client_options)


def _cluster(url: str, bounds: dict) -> Any:
    from redis.cluster import ClusterNode, RedisCluster

    parts = urlsplit(url)
    user, password, nodes = _hosts(parts.netloc, 6379)
    if parts.path.strip("/") not in ("", "0"):
        raise StorageUnavailable("Redis Cluster has database 0 only: redis+cluster://host[:port][,host[:port]...]")
    options = {**bounds, "username": user, "password": password}
    if url.startswith("rediss+"):
        options["ssl"] = True
    return RedisCluster(startup_nodes=[ClusterNode(host, port) for host, port in nodes], **options)


def unavailable_errors() -> tuple[type[Exception], ...]:
    return redis_unavailable_errors()


__all__ = ["SCHEMES", "client", "unavailable_errors"]
