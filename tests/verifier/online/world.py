"""A small world for the OpenID4VP tests: an authority in a signed-list-shaped trust list, a licence issued as an
SD-JWT VC to a device key, a status source, and the demo app's query (name + vehicle classes + valid_until)."""

from __future__ import annotations

from credentials.sdjwt import authority_iss, issue_sd_jwt_vc, present, vct_for
from credentials.status_list import VALID
from keys import Authority, TrustedKey, TrustList, generate
from verifier.online import new_request
from verifier.ports import StatusLookup

HUB = "https://hub.example.cn"
NOW = 1_780_000_000
AUTHORITY = generate("ES256")
DEVICE = generate("ES256")
CLIENT = "demo-app"
VCT = vct_for(HUB, "driving-licence")
CLAIMS = {"name": "张三", "birth_date": "1990-03-07", "vehicle_classes": ["C1", "D"], "licence_number": "L-1",
          "address": "北京市东城区", "valid_until": "2030-05-01", "age_over_18": True}
TRUST = TrustList(1, NOW - 100, NOW + 86400, (
    Authority("bj-traffic", "北京市公安局公安交通管理局", "110000", "T1", ("driving-licence",),
              (TrustedKey(AUTHORITY.public, NOW - 1000, NOW + 10**8),)),
))
QUERY = {"credentials": [{
    "id": "licence", "format": "dc+sd-jwt", "meta": {"vct_values": [VCT]},
    "claims": [{"id": "name", "path": ["name"]}, {"id": "classes", "path": ["vehicle_classes", None]},
               {"id": "until", "path": ["valid_until"]}, {"id": "address", "path": ["address"]}],
    "claim_sets": [["name", "classes", "until", "address"], ["name", "classes", "until"]],
}]}
WANTED = ("name", "vehicle_classes", "valid_until")


class Statuses:
    """A StatusSource: every entry valid unless set otherwise."""

    def __init__(self, values: dict[int, int] | None = None, missing: bool = False):
        self.values = values or {}
        self.missing = missing
        self.asked: list[tuple[str, int]] = []

    def lookup(self, uri: str, idx: int, now: int) -> StatusLookup:
        self.asked.append((uri, idx))
        if self.missing:
            return StatusLookup(None, "bj-traffic", "no status list cached")
        return StatusLookup(self.values.get(idx, VALID), "bj-traffic")


def licence(*, holder=DEVICE, signer=AUTHORITY, idx=7, status_uri=HUB + "/status/bj-traffic/1") -> str:
    return issue_sd_jwt_vc(CLAIMS, vct=VCT, iss=authority_iss(HUB, "bj-traffic"), iat=NOW - 60, exp=NOW + 86400,
                           holder_key=holder.public, status_idx=idx, status_uri=status_uri, signer=signer)


def request(query=QUERY, *, now=NOW, same_device=False):
    return new_request(client_id=CLIENT, dcql=query, base_url=HUB, purpose="核对准驾车型", now=now,
                       same_device=same_device)


def answer(req, sd_jwt=None, names=WANTED, *, holder=DEVICE, nonce=None, aud=None, iat=NOW, cid="licence") -> dict:
    shown = present(sd_jwt or licence(), names, holder_key=holder, nonce=nonce or req.nonce,
                    audience=aud or req.client_id, iat=iat)
    return {cid: [shown]}

