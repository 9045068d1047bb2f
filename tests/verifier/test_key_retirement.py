"""The pipeline's ``key_retired`` check and the ``key_compromised`` refusal, over test_pipeline's small world."""

from __future__ import annotations

import dataclasses

import keys
from credentials.credential import sign_credential
from tests.verifier.test_pipeline import (
    ISSUER,
    NOW,
    credential_body,
    present,
    refused,
    run,
    trust_list,
)
from verifier.pipeline import CHECKS

ISSUED_AT = credential_body().issued_at


def _with_key(trust: keys.TrustList, **changes) -> keys.TrustList:
    authority = trust.authorities[0]
    authority = dataclasses.replace(authority, keys=tuple(dataclasses.replace(k, **changes) for k in authority.keys))
    return dataclasses.replace(trust, authorities=(authority,))


def test_the_check_runs_right_after_key_window():
    names = [name for name, _ in CHECKS]
    assert names[names.index("key_window") + 1] == "key_retired"


def test_signed_after_the_key_signs_until_is_key_retired():
    decision = run(present(), trust=_with_key(trust_list(), signs_until=ISSUED_AT - 1))
    refused(decision, "key_retired")
    assert decision.claims == {}  # refused before the issuer's signature is even checked


def test_no_leeway_signed_at_signs_until_is_valid():
    assert run(present(), trust=_with_key(trust_list(), signs_until=ISSUED_AT)).valid


def test_a_list_without_signs_until_lets_a_key_sign_until_not_after():
    trust = trust_list()
    assert trust.authorities[0].keys[0].signs_until == trust.authorities[0].keys[0].not_after
    late = sign_credential(credential_body(issued_at=NOW), ISSUER)
    assert run(present(late), trust=trust).valid


def test_a_compromised_key_is_named_as_such():
    trust = trust_list()
    authority = dataclasses.replace(trust.authorities[0], compromised=(ISSUER.public.short_kid,))
    decision = run(present(), trust=dataclasses.replace(trust, authorities=(authority,)))
    refused(decision, "key_compromised")
    assert decision.claims == {} and decision.elicence_id is None


def test_only_the_keys_own_authority_withdraws_it():
    """A recognised region's authority naming our key compromised does not withdraw it (it is not theirs)."""
    trust = trust_list()
    other = dataclasses.replace(trust.authorities[0], id="other", keys=(), compromised=(ISSUER.public.short_kid,))
    assert run(present(), trust=dataclasses.replace(trust, authorities=(*trust.authorities, other))).valid
