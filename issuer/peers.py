"""Mutual recognition between regions (互通互认): this hub vouches for another region's authorities.

A peer region is recognised by its hub root key, configured out of band like a verifier's root. Its
signed trust list is verified against that root, its authorities join this hub's trust list (with
their own region codes and keys) while the peer's list is valid, and its verified status lists are
mirrored into this data directory so this region's counters sync everything from one place. A peer
authority id that clashes with a local one is refused: ids name status lists, so they must be unique.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from credentials.status_list import StatusListError, peek_times, verify_status_list_cwt
from credentials.status_uri import parse_status_uri
from issuer.errors import IssuerError
from issuer.hub import Hub
from issuer.service import status_path
from keys import PublicKey, TrustListError, verify_trust_list

PEER_CLOCK_LEEWAY = 60


@dataclass(frozen=True)
class Recognition:
    region_ids: tuple[str, ...]
    authorities: tuple[str, ...]
    status_lists: int


def recognise(hub: Hub, *, root: PublicKey, trust_list_token: str, status_lists: dict[str, bytes],
              now: int) -> Recognition:
    try:
        peer = verify_trust_list(trust_list_token, root, now=now)
    except TrustListError as exc:
        raise IssuerError(f"the peer region's trust list is refused ({exc.reason}): {exc}") from exc
    local = {a.id for a in hub.authorities()}
    clash = sorted(local & {a.id for a in peer.authorities})
    if clash:
        raise IssuerError(f"peer authority ids clash with this hub's: {', '.join(clash)}")
    hub.peers_dir.mkdir(parents=True, exist_ok=True)
    (hub.peers_dir / f"{root.kid}.json").write_text(json.dumps({"root": root.public_jwk(), "trust_list": trust_list_token}))
    mirrored = 0
    for uri, raw in status_lists.items():
        parsed = parse_status_uri(uri)
        authority = peer.authority(parsed[0]) if parsed else None
        if authority is None:
            continue
        for key in authority.keys:
            try:
                # The peer hub's clock may run a little ahead of ours (its re-signings take the next second).
                token = verify_status_list_cwt(raw, public_key=key.public, alg=key.public.alg, now=now,
                                               expected_subject=uri, leeway=PEER_CLOCK_LEEWAY)
            except StatusListError:
                continue
            if token.issued_at > key.signs_until:  # signed after the key was retired: counters refuse it too
                continue
            path = status_path(hub.data_dir, uri, "cwt")
            held = peek_times(path.read_bytes()) if path.exists() else None
            if held is None or token.issued_at > held[0]:  # never put an older list over a newer one (rollback)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(raw)
            mirrored += 1
            break
        else:
            raise IssuerError(f"peer status list {uri} is not signed by {authority.id}")
    return Recognition(tuple(sorted({a.region for a in peer.authorities})), tuple(a.id for a in peer.authorities),
                       mirrored)
