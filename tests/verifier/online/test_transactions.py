"""Single use: one response per request, a spent nonce, a replayed ``vp_token``, state, and the same-device
``response_code`` (OpenID4VP 1.0 §8.2, §13.3), over the in-process key-value store."""

from __future__ import annotations

import json

import pytest

from storage.kv import MemoryStore
from verifier.online import OnlineError, Transactions

from .world import NOW, TRUST, Statuses, answer, request


def post(tx, req, token, *, state=None, now=NOW):
    return tx.answer(req.id, {"vp_token": json.dumps(token), "state": state or req.state}, trust=TRUST,
                     status=Statuses(), now=now)


def test_one_response_per_request_and_the_nonce_is_spent():
    tx, req = Transactions(MemoryStore()), request()
    tx.open(req, NOW)
    assert tx.outcome(req.id).state == "pending"
    token = answer(req)
    first = post(tx, req, token)
    assert first.state == "verified" and first.credentials["licence"]["claims"]["name"] == "张三"
    with pytest.raises(OnlineError) as twice:
        post(tx, req, token)
    assert twice.value.reason == "response_already_received"
    assert tx.outcome(req.id).state == "verified"  # the first outcome stands


def test_a_replayed_vp_token_on_a_second_request_is_refused():
    store = MemoryStore()
    tx, first = Transactions(store), request()
    tx.open(first, NOW)
    token = answer(first)
    assert post(tx, first, token).state == "verified"
    second = request()
    tx.open(second, NOW)
    outcome = post(tx, second, token, state=second.state)
    assert outcome.state == "refused" and outcome.reason == "kb_nonce"


def test_the_same_vp_token_digest_is_refused_even_if_it_verified(monkeypatch):
    # Two requests that (by a broken random source) share a nonce: the digest check still refuses the copy.
    store = MemoryStore()
    tx, first = Transactions(store), request()
    second = type(first)(**{**first.__dict__, "id": "other-transaction"})
    tx.open(first, NOW)
    tx.open(second, NOW)
    token = answer(first)
    assert post(tx, first, token).state == "verified"
    respaced = second.__class__(**{**second.__dict__, "id": "third-transaction"})
    tx.open(respaced, NOW)
    outcome = post(tx, second, token)
    assert outcome.state == "refused" and outcome.reason == "vp_token_replayed"
    # The same presentation with its JSON re-spaced is the same vp_token: its KB-JWT signs the same input.
    again = tx.answer(respaced.id, {"vp_token": json.dumps(token, indent=3), "state": respaced.state}, trust=TRUST,
                      status=Statuses(), now=NOW)
    assert again.state == "refused" and again.reason == "vp_token_replayed"


def test_replay_key_ignores_reencodings_but_not_other_presentations():
    from verifier.online.transactions import replay_key

    req = request()
    token = answer(req)
    assert replay_key(token) == replay_key(json.dumps(token, indent=2))
    kb = token["licence"][0].rsplit(".", 1)
    assert replay_key({"licence": [kb[0] + ".AAAA"]}) == replay_key(token)  # another signature, same signed input
    assert replay_key(answer(req)) != replay_key(token)  # a new KB-JWT (other iat/sd salt) is another identity


def test_wrong_state_refuses_and_closes_the_request():
    tx, req = Transactions(MemoryStore()), request()
    tx.open(req, NOW)
    outcome = post(tx, req, answer(req), state="not-the-state")
    assert outcome.state == "refused" and outcome.reason == "state_mismatch"
    with pytest.raises(OnlineError):
        post(tx, req, answer(req))


def test_unknown_and_expired_requests():
    tx, req = Transactions(MemoryStore()), request()
    with pytest.raises(OnlineError) as unknown:
        post(tx, req, answer(req))
    assert unknown.value.reason == "request_not_found"
    tx.open(req, NOW)
    with pytest.raises(OnlineError) as late:
        post(tx, req, answer(req), now=req.exp)
    assert late.value.reason == "request_not_found"
    assert tx.get("x" * 65) is None and tx.get(None) is None


def test_same_device_result_only_with_the_response_code():
    tx, req = Transactions(MemoryStore()), request(same_device=True)
    tx.open(req, NOW)
    outcome = tx.answer(req.id, {"vp_token": json.dumps(answer(req)), "state": req.state}, trust=TRUST,
                        status=Statuses(), now=NOW, new_code=lambda: "code-1")
    assert outcome.response_code == "code-1"
    assert tx.outcome(req.id).state == "pending"
    assert tx.outcome(req.id, "code-2").state == "pending"
    assert tx.outcome(req.id, "code-1").state == "verified"


def test_a_declining_wallet():
    tx, req = Transactions(MemoryStore()), request()
    tx.open(req, NOW)
    outcome = tx.answer(req.id, {"error": "access_denied", "state": req.state}, trust=TRUST, status=Statuses(), now=NOW)
    assert outcome.state == "refused" and outcome.reason == "wallet_declined"
