"""One contract test for every key-value adapter (memory, Redis)."""

import threading
import uuid

import pytest

from storage.kv import MemoryStore, RedisStore, make_store


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture(params=["memory", "redis", "redis-cluster", "redis-sentinel"])
def store(request):
    """Every adapter and Redis topology: one server, a three-node Cluster (every key of a test lands on whichever
    node owns its slot: no command may span slots), and Sentinel (the client asks the sentinel for the master)."""
    if request.param == "memory":
        return MemoryStore()
    fixture = {"redis": "redis_url", "redis-cluster": "redis_cluster_url", "redis-sentinel": "redis_sentinel_url"}
    url = request.getfixturevalue(fixture[request.param])
    return RedisStore(url, prefix=f"test-{uuid.uuid4().hex}:")


def test_put_get_delete(store):
    store.put("a", "1", 60)
    assert store.get("a") == "1"
    store.delete("a")
    assert store.get("a") is None
    store.delete("missing")  # deleting nothing is fine


def test_consume_is_get_and_delete(store):
    store.put("code", "v", 60)
    assert store.consume("code") == "v"
    assert store.consume("code") is None
    assert store.get("code") is None


def test_consume_is_atomic_under_races(store):
    store.put("race", "once", 60)
    results = []
    barrier = threading.Barrier(8)

    def worker():
        barrier.wait()
        results.append(store.consume("race"))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("once") == 1
    assert results.count(None) == 7


def test_incr_counts_and_keeps_ttl(store):
    assert store.incr("n", 60) == 1
    assert store.incr("n", 60) == 2
    assert 0 < store.ttl("n") <= 60
    assert store.ttl("absent") is None


def test_ttl_must_be_positive(store):
    with pytest.raises(ValueError):
        store.put("x", "y", 0)


def test_memory_expiry_with_injected_clock():
    clock = FakeClock()
    store = MemoryStore(clock)
    store.put("k", "v", 10)
    store.incr("c", 10)
    clock.now += 9
    assert store.get("k") == "v"
    clock.now += 2
    assert store.get("k") is None
    assert store.consume("k") is None
    assert store.incr("c", 10) == 1  # a new window


def test_redis_expiry_is_set(redis_url):
    store = RedisStore(redis_url, prefix=f"test-{uuid.uuid4().hex}:")
    store.put("k", "v", 30)
    assert 25 <= store.ttl("k") <= 30


def test_make_store_selects_adapter():
    assert isinstance(make_store(""), MemoryStore)
    assert isinstance(make_store("redis://127.0.0.1:6379/0"), RedisStore)
    from storage.errors import StorageUnavailable
    with pytest.raises(StorageUnavailable):
        make_store("memcached://x")


def test_set_members_add_remove_and_expire(store):
    store.add_member("idx", "a", 60)
    store.add_member("idx", "b", 60)
    store.add_member("idx", "a", 60)  # a member once
    assert store.members("idx") == {"a", "b"}
    store.remove_member("idx", "a")
    store.remove_member("idx", "missing")
    assert store.members("idx") == {"b"}
    assert store.members("absent") == set()
    with pytest.raises(ValueError):
        store.add_member("idx", "c", 0)


def test_concurrent_adds_keep_every_member(store):
    barrier = threading.Barrier(8)

    def worker(i):
        barrier.wait()
        store.add_member("many", f"m{i}", 60)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.members("many") == {f"m{i}" for i in range(8)}


def test_memory_set_expiry_with_injected_clock():
    clock = FakeClock()
    store = MemoryStore(clock)
    store.add_member("idx", "a", 10)
    clock.now += 11
    assert store.members("idx") == set()


def test_replace_only_an_existing_key_and_return_the_old_value(store):
    assert store.replace("absent", "x", 60) is None
    assert store.get("absent") is None  # not created
    store.put("k", "old", 60)
    assert store.replace("k", "new", 60) == "old"
    assert store.get("k") == "new"
    with pytest.raises(ValueError):
        store.replace("k", "v", 0)


def test_replace_is_atomic_under_races(store):
    store.put("code", "original", 60)
    results, barrier = [], threading.Barrier(8)

    def worker(i):
        barrier.wait()
        results.append(store.replace("code", f"used-{i}", 60))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("original") == 1 and all(r and r.startswith("used-") for r in results if r != "original")


def test_keys_of_one_test_spread_over_the_cluster_nodes(redis_cluster_url):
    """The contract above ran on a real cluster only if its keys landed on more than one node."""
    from redis.cluster import RedisCluster

    store = RedisStore(redis_cluster_url, prefix=f"test-{uuid.uuid4().hex}:")
    for n in range(30):
        store.put(f"k{n}", "v", 60)
    cluster = RedisCluster.from_url("redis://" + redis_cluster_url.split("://", 1)[1].split(",")[0])
    owners = {cluster.get_node_from_key(f"{store._prefix}k{n}").name for n in range(30)}
    assert len(owners) == 3


@pytest.mark.parametrize("url, message", [
    ("redis+sentinel://127.0.0.1:26379", "service"),
    ("redis+sentinel://127.0.0.1:26379/a/b/c", "service"),
    ("redis+sentinel://127.0.0.1:99999/x", "invalid host"),
    ("redis+cluster://127.0.0.1:7000/3", "database 0 only"),
    ("redis+cluster://:7000", "invalid host"),
])
def test_malformed_topology_urls_are_refused_with_the_form_to_use(url, message):
    from storage.errors import StorageUnavailable

    with pytest.raises(StorageUnavailable, match=message):
        make_store(url)


def test_a_sentinel_url_reaches_the_master_it_names(redis_sentinel_url):
    import redis

    store = RedisStore(redis_sentinel_url, prefix=f"test-{uuid.uuid4().hex}:")
    store.put("k", "v", 60)
    sentinel_port = int(redis_sentinel_url.split(":")[2].split("/")[0])
    host, port = redis.Redis(port=sentinel_port).sentinel_get_master_addr_by_name("tbmaster")
    assert redis.Redis(host=host, port=int(port)).get(f"{store._prefix}k") == b"v"
