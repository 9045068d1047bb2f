"""Population-registry adapters: the embedded table and the HTTP interface (with a scripted transport)."""

from __future__ import annotations

import json

import pytest

from idp.errors import RegistryUnavailable
from idp.registry import HttpRegistry


def transport_answering(body: bytes, seen: list):
    def post(request, timeout):
        seen.append((request.full_url, request.get_method(), dict(request.header_items()), json.loads(request.data),
                     timeout))
        return body
    return post


def test_http_registry_contract():
    seen = []
    registry = HttpRegistry("https://registry.example.gov.cn/verify", "t0ken",
                            transport=transport_answering(b'{"match": true}', seen))
    assert registry.matches("张三", "110101199003071233") is True
    url, method, headers, body, timeout = seen[0]
    assert (url, method, body, timeout) == ("https://registry.example.gov.cn/verify", "POST",
                                           {"name": "张三", "id_number": "110101199003071233"}, 5.0)
    assert headers["Authorization"] == "Bearer t0ken" and headers["Content-type"] == "application/json"
    assert HttpRegistry("https://r.example/v", "t", transport=transport_answering(b'{"match": false}', [])).matches(
        "张三", "110101199003071233") is False


@pytest.mark.parametrize("body", [b"", b"not json", b"[]", b'{"match": "yes"}', b'{"ok": true}'])
def test_http_registry_fails_closed_on_odd_answers(body):
    registry = HttpRegistry("https://r.example/v", "t", transport=transport_answering(body, []))
    with pytest.raises(RegistryUnavailable):
        registry.matches("张三", "110101199003071233")


def test_http_registry_fails_closed_when_unreachable():
    def down(request, timeout):
        raise TimeoutError("timed out")

    with pytest.raises(RegistryUnavailable, match="did not answer"):
        HttpRegistry("https://r.example/v", "t", transport=down).matches("张三", "110101199003071233")
    with pytest.raises(RegistryUnavailable, match="https"):
        HttpRegistry("http://r.example/v", "t")
