"""What a peer region's trust list may not make this hub vouch for (互通互认), each refusal an ``IssuerError``.

``accept`` returns the peer's region and its own authorities (not those it recognises: recognition is not
transitive) once: no id, issuer code or key is this hub's or another recognised region's or named twice; every
authority lies in the peer's region, its id can name a status list, its issuer code is a valid 统一社会信用代码
registered there; the region is one of the 31 provincial-level divisions, not this hub's, not another recognised
root's, and the one the peer was first recognised as.
"""

from __future__ import annotations

from stdnum.cn import uscc
from stdnum.exceptions import ValidationError as StdnumError

from credentials.regions import RegionError, hub_region, region_label, region_within
from credentials.status_uri import format_status_uri, parse_status_uri
from issuer.errors import IssuerError
from issuer.hub import Hub
from issuer.peer_store import own_authorities, stored_list
from keys import Authority, TrustList, TrustListError


def _peer_region(peer: TrustList) -> str:
    own = [a for a in peer.authorities if not a.recognised]
    regions = {peer.region} if peer.region else {a.region for a in own}
    if len(regions) != 1:
        raise IssuerError("the peer's trust list names no region of its own (and its authorities are of several): "
                          "it cannot be recognised")
    try:
        return hub_region(regions.pop()).code
    except RegionError as exc:
        raise IssuerError(f"the peer's region is refused: {exc}") from exc


def accept(hub: Hub, peer: TrustList, kid: str, *, pinned: str | None) -> tuple[str, tuple[Authority, ...]]:
    """The peer's region and own authorities, after every check against this hub and the other peers."""
    local = [_local_authority(hub, a.id) for a in hub.authorities()]
    clash = sorted({a.id for a in peer.authorities if not a.recognised} & {a.id for a in local})
    if clash:
        raise IssuerError(f"peer authority ids clash with this hub's: {', '.join(clash)}")
    region = _peer_region(peer)
    if pinned is not None and region != pinned:
        raise IssuerError(f"the peer was recognised as region {region_label(pinned)} but its trust list now says "
                          f"{region_label(region)}: refused (recognise the new region deliberately, with its own root)")
    ours = hub.region()
    if ours and (region_within(region, ours) or region_within(ours, region)):
        raise IssuerError(f"the peer's trust list claims region {region_label(region)}, this hub's own: refused")
    outside = [a for a in peer.authorities if not a.recognised and not region_within(a.region, region)]
    if outside:
        raise IssuerError("the peer's trust list names authorities outside its region "
                          f"{region_label(region)}: " + ", ".join(f"{a.id} ({a.region})" for a in outside))
    own = own_authorities(peer, region)
    for a in own:
        _check_names(a, region)
    for what, values in (("ids", [a.id for a in own]), ("issuer codes", [a.issuer_code for a in own]),
                         ("keys", [k.public.short_kid.hex() for a in own for k in a.keys])):
        twice = sorted({v for v in values if values.count(v) > 1})
        if twice:
            raise IssuerError(f"the peer's trust list names the same {what} twice: {', '.join(twice)}")
    others = [r for r in hub.peers() if r.kid != kid]
    taken = next((r for r in others if r.region == region), None)
    if taken is not None:
        raise IssuerError(f"region {region_label(region)} is already recognised under another root key "
                          f"({taken.kid}): one root per region")
    _no_shared(own, local, "this hub's")
    for other in others:
        try:
            _no_shared(own, list(own_authorities(stored_list(other), other.region)), f"region {other.region}'s")
        except TrustListError:
            continue  # that peer's stored list no longer verifies: it recognises nobody
    return region, own


def _check_names(a: Authority, region: str) -> None:
    if parse_status_uri(f"tbsl:{a.id}/1") is None or format_status_uri(a.id, 1) != f"tbsl:{a.id}/1":
        raise IssuerError(f"peer authority id {a.id[:70]!r} is not a usable id (a-z, 0-9 and '-', up to 63)")
    try:
        code = uscc.validate(a.issuer_code)
    except StdnumError as exc:
        raise IssuerError(f"peer authority {a.id}'s issuer code {a.issuer_code[:30]!r} is not a valid "
                          "统一社会信用代码") from exc
    if code != a.issuer_code or not region_within(code[2:8], region):
        raise IssuerError(f"peer authority {a.id}'s issuer code {a.issuer_code} is not registered in its region "
                          f"{region_label(region)}")


def _local_authority(hub: Hub, authority_id: str) -> Authority:
    config = hub.authority(authority_id)
    ring = hub.rings.load(authority_id)
    return Authority(config.id, config.name, config.region, config.issuer_code, config.licence_types,
                     ring.trusted_keys(0), ring.compromised_kids(0))  # every key it ever had


def _no_shared(own: tuple[Authority, ...], others: list[Authority], whose: str) -> None:
    ids = sorted({a.id for a in own} & {a.id for a in others})
    if ids:
        raise IssuerError(f"peer authority ids clash with {whose}: {', '.join(ids)}")
    codes = sorted({a.issuer_code for a in own} & {a.issuer_code for a in others})
    if codes:
        raise IssuerError(f"peer issuer codes clash with {whose}: {', '.join(codes)}")
    theirs = {k.public.short_kid for a in others for k in a.keys} | {kid for a in others for kid in a.compromised}
    kids = sorted(k.public.short_kid.hex() for a in own for k in a.keys if k.public.short_kid in theirs)
    if kids:
        raise IssuerError(f"peer keys are {whose} keys: {', '.join(kids)}")


__all__ = ["accept"]
