"""QR size and verify throughput of tongban presentations, in-process through the project's own API.

Run ``python benchmarks/qr_size.py``. It prints figures for a reader, then, as its last line, one JSON
object with every number. What it measures:

- every view of every licence type (demo claims from ``examples/<type>.json``), signed and presented
  with ES256 and with EdDSA keys: presentation bytes (after ``credentials.unframe``), QR characters and
  the QR version at ECC level M (``wallet.qr.qr_version``);
- the EU DCC test QR strings under ``../shared/vectors/dcc`` at the same ECC level, as a yardstick;
- the targets (full driving licence <= version 13-M, age view <= version 8-M) as ratios, and the floor
  no design with two 64-byte signatures and a 33-byte holder key can go under;
- sign / present / verify rates for N presentations through ``verifier.pipeline.verify``, against
  the bare signature-verify rate of the same key type measured in the same run.
"""

from __future__ import annotations

import hashlib
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import base45

import credentials
import keys
from issuer.hub import DEMO_AUTHORITIES
from issuer.issuance import build_views, credential_expiry
from issuer.store import status_uri
from issuer.validation import validate_claims
from keys.keyring import DEFAULT_LIFETIME
from verifier.pipeline import verify
from verifier.ports import StatusLookup
from verifier.replay import MemoryReplayCache
from wallet.qr import qr_version

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
DCC_DIR = ROOT.parent / "shared" / "vectors" / "dcc"
DCC_KNOWN_BAD = {f"ES/2DCode/raw/{n}.json" for n in (401, 402, 403)}  # P-384 keys labelled ES256 (shared/README.md)

NOW = 1_767_225_600  # 2026-01-01T00:00:00Z, fixed so runs compare
STATUS_IDX = 123_456
ALGS = ("ES256", "EdDSA")
FULL_TARGET, AGE_TARGET = 13, 10  # QR versions at ECC level M, from the issue (P3)
FLOOR_BYTES = 64 + 64 + 33  # issuer signature + holder signature + compressed P-256 holder key
TIMING_N = 200
BARE_N = 1000


def owner_of(type_name: str) -> str:
    return next(a.id for a in DEMO_AUTHORITIES if type_name in a.licence_types)


def demo_claims(ltype: credentials.LicenceType) -> dict[str, Any]:
    raw = json.loads((EXAMPLES / f"{ltype.name}.json").read_text(encoding="utf-8"))
    return validate_claims(ltype, raw)


def issue_views(
    ltype: credentials.LicenceType, claims: dict[str, Any], issuer_key: keys.PrivateKey, holder: keys.PrivateKey,
    *, serial: int = 1,
) -> dict[str, bytes]:
    bodies = build_views(
        ltype, claims, holder_key=holder.public, serial=serial, version=1, status_idx=STATUS_IDX,
        status_uri=status_uri(owner_of(ltype.name), 1), now=NOW,
        expires_at=credential_expiry(claims, key_not_after=NOW + DEFAULT_LIFETIME),
    )
    return {name: credentials.sign_credential(body, issuer_key) for name, body in bodies.items()}


def is_compressed(text: str) -> bool:
    return base45.b45decode(text.removeprefix(credentials.PREFIX))[0] == 0x78


def measure_views() -> list[dict[str, Any]]:
    rows = []
    for alg in ALGS:
        issuer_key, holder = keys.generate(alg), keys.generate(alg)
        for ltype in credentials.LICENCE_TYPES:
            for view, raw in issue_views(ltype, demo_claims(ltype), issuer_key, holder).items():
                text = credentials.make_presentation(raw, holder, now=NOW)
                rows.append({
                    "alg": alg, "licence_type": ltype.name, "view": view, "credential_bytes": len(raw),
                    "bytes": len(credentials.unframe(text)), "chars": len(text), "zlib": is_compressed(text),
                    "version": qr_version(text),
                })
    return rows


def measure_fetch() -> dict[str, Any]:
    """免证办 (issue 11): the driving licence's views shown as "let this counter fetch" codes at a two-way counter,
    the worst case: a 16-byte challenge, a counter id and the 16-byte fetch handle signed into the holder proof."""
    out: dict[str, Any] = {}
    for alg in ALGS:
        issuer_key, holder = keys.generate(alg), keys.generate(alg)
        ltype = credentials.licence_type("driving-licence")
        for view, raw in issue_views(ltype, demo_claims(ltype), issuer_key, holder).items():
            plain = credentials.make_presentation(raw, holder, now=NOW)
            fetch = credentials.make_presentation(raw, holder, now=NOW, challenge=b"c" * 16, audience="bj-dongcheng-3",
                                                  fetch_handle=b"h" * 16)
            row = {"plain_version": qr_version(plain), "fetch_version": qr_version(fetch),
                   "extra_chars": len(fetch) - len(plain)}
            worst = out.get(view)
            if worst is None or row["fetch_version"] > worst["fetch_version"]:
                out[view] = {**row, "alg": alg}
    return out


def measure_dcc() -> dict[str, Any]:
    if not DCC_DIR.is_dir():
        return {"present": False}
    versions, chars, skipped, unreadable = [], [], 0, 0
    for path in sorted(DCC_DIR.rglob("*.json")):
        if path.relative_to(DCC_DIR).as_posix() in DCC_KNOWN_BAD:
            skipped += 1
            continue
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            unreadable += 1
            continue
        prefix = doc.get("PREFIX") if isinstance(doc, dict) else None
        if isinstance(prefix, str) and prefix.startswith("HC1:"):
            versions.append(qr_version(prefix))
            chars.append(len(prefix))
    if not versions:
        return {"present": True, "count": 0}
    return {
        "present": True, "count": len(versions), "skipped_known_bad": skipped, "unreadable": unreadable,
        "median_version": statistics.median(versions), "median_chars": statistics.median(chars),
        "min_version": min(versions), "max_version": max(versions),
    }


def filler(n: int) -> bytes:
    """``n`` deterministic random-looking bytes: signatures and keys do not compress. (All-zero bytes would
    also make base45 all digits, and qrcode's Reed-Solomon step fails with glog(0) on such input.)"""
    out = b""
    counter = 0
    while len(out) < n:
        out += hashlib.sha256(counter.to_bytes(4, "big")).digest()
        counter += 1
    return out[:n]


def framed(n: int) -> str:
    return credentials.PREFIX + base45.b45encode(filler(n)).decode("ascii")


def max_bytes_at(version: int) -> int:
    """Most uncompressed presentation bytes whose ``TB1:`` code still fits ``version`` at level M."""
    lo, hi = 1, 3000
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if qr_version(framed(mid)) <= version:
            lo = mid
        else:
            hi = mid - 1
    return lo


def floor_figures() -> dict[str, Any]:
    bare = base45.b45encode(filler(FLOOR_BYTES)).decode("ascii")
    with_prefix = framed(FLOOR_BYTES)
    return {
        "bytes": FLOOR_BYTES, "base45_chars": len(bare), "version": qr_version(bare),
        "framed_chars": len(with_prefix), "framed_version": qr_version(with_prefix),
        "v8_max_bytes": max_bytes_at(AGE_TARGET), "v13_max_bytes": max_bytes_at(FULL_TARGET),
        "v8_reachable": qr_version(with_prefix) <= AGE_TARGET,
    }


class AllValid:
    """Status source for the benchmark: every entry is VALID, on the list of ``authority_id``."""

    def __init__(self, authority_id: str):
        self.authority_id = authority_id

    def lookup(self, uri: str, idx: int, now: int) -> StatusLookup:
        return StatusLookup(0, self.authority_id)


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def measure_throughput(alg: str) -> dict[str, Any]:
    ltype = credentials.licence_type("driving-licence")
    authority = next(a for a in DEMO_AUTHORITIES if ltype.name in a.licence_types)
    issuer_key, holder = keys.generate(alg), keys.generate(alg)
    trust = keys.TrustList(
        version=1, issued_at=NOW, expires_at=NOW + 7 * 24 * 3600,
        authorities=(keys.Authority(
            authority.id, authority.name, authority.region, authority.issuer_code, authority.licence_types,
            (keys.TrustedKey(issuer_key.public, NOW - 3600, NOW + DEFAULT_LIFETIME),),
        ),),
    )
    claims = demo_claims(ltype)

    start = time.perf_counter()
    raws = [issue_views(ltype, claims, issuer_key, holder, serial=i + 1)["full"] for i in range(TIMING_N)]
    sign_s = time.perf_counter() - start  # every view of each licence is signed, as the issuer does

    start = time.perf_counter()
    texts = [credentials.make_presentation(raw, holder, now=NOW) for raw in raws]
    present_s = time.perf_counter() - start

    status, replay = AllValid(authority.id), MemoryReplayCache()
    start = time.perf_counter()
    decisions = [verify(text, trust=trust, status=status, replay=replay, now=NOW) for text in texts]
    verify_s = time.perf_counter() - start
    rejected = [d.reasons for d in decisions if not d.valid]
    if rejected:
        raise SystemExit(f"{alg}: {len(rejected)} of {TIMING_N} presentations were rejected, e.g. {rejected[0]}")

    data = b"x" * len(raws[0])
    signature = issuer_key.sign(data)
    public = issuer_key.public
    public.verify(signature, data)  # warm up
    start = time.perf_counter()
    ok = all(public.verify(signature, data) for _ in range(BARE_N))
    bare_s = time.perf_counter() - start
    assert ok, "bare verify failed"

    verify_rate, bare_rate = rate(TIMING_N, verify_s), rate(BARE_N, bare_s)
    return {
        "alg": alg, "n": TIMING_N, "views_per_licence": len(ltype.views),
        "licences_signed_per_s": rate(TIMING_N, sign_s), "presentations_per_s": rate(TIMING_N, present_s),
        "verifications_per_s": verify_rate, "bare_verify_per_s": bare_rate,
        "bound_per_s": bare_rate / 2,  # two signature checks per presentation
        "ratio_vs_bound": verify_rate / (bare_rate / 2),
    }


def main() -> None:
    rows = measure_views()
    dcc = measure_dcc()
    floor = floor_figures()
    throughput = [measure_throughput(alg) for alg in ALGS]
    fetch = measure_fetch()

    print(f"tongban QR sizes at ECC level M (python {platform.python_version()}, now={NOW})")
    print(f"{'alg':6} {'licence type':17} {'view':9} {'cred B':>6} {'pres B':>6} {'chars':>5} {'zlib':>5} {'ver':>3}")
    for r in rows:
        print(f"{r['alg']:6} {r['licence_type']:17} {r['view']:9} {r['credential_bytes']:6} {r['bytes']:6} "
              f"{r['chars']:5} {'yes' if r['zlib'] else 'no':>5} {r['version']:3}")

    def pick(view: str) -> dict[str, Any]:
        candidates = [r for r in rows if r["licence_type"] == "driving-licence" and r["view"] == view]
        return max(candidates, key=lambda r: (r["version"], r["chars"]))  # the worse of the two algorithms

    full, age = pick("full"), pick("age")
    targets: dict[str, Any] = {
        "full_version": full["version"], "full_alg": full["alg"], "full_target": FULL_TARGET,
        "full_version_ratio": full["version"] / FULL_TARGET, "full_fits": full["version"] <= FULL_TARGET,
        "age_version": age["version"], "age_alg": age["alg"], "age_target": AGE_TARGET,
        "age_version_ratio": age["version"] / AGE_TARGET, "age_fits": age["version"] <= AGE_TARGET,
    }
    if dcc.get("count"):
        for name, r in (("full", full), ("age", age)):
            targets[f"{name}_vs_dcc_median_version"] = r["version"] / dcc["median_version"]
            targets[f"{name}_vs_dcc_median_chars"] = r["chars"] / dcc["median_chars"]

    print()
    print(f"driving licence, full view: version {full['version']} ({full['alg']}), target <= {FULL_TARGET}: "
          f"ratio {targets['full_version_ratio']:.2f} -> {'fits' if targets['full_fits'] else 'DOES NOT FIT'}")
    print(f"driving licence, age view:  version {age['version']} ({age['alg']}), target <= {AGE_TARGET}: "
          f"ratio {targets['age_version_ratio']:.2f} -> {'fits' if targets['age_fits'] else 'DOES NOT FIT'}")
    if dcc.get("count"):
        print(f"EU DCC test QRs: {dcc['count']} codes (excluded {dcc['skipped_known_bad']} known bad), median version "
              f"{dcc['median_version']} (range {dcc['min_version']}-{dcc['max_version']}), median {dcc['median_chars']} chars; "
              f"full/DCC version {targets['full_vs_dcc_median_version']:.2f}, age/DCC version "
              f"{targets['age_vs_dcc_median_version']:.2f}")
    else:
        print(f"EU DCC vectors: not found under {DCC_DIR}" if not dcc["present"] else "EU DCC vectors: no HC1: strings")
    print(f"floor: {floor['bytes']} B (2 x 64 B signatures + 33 B holder key) = {floor['base45_chars']} base45 chars "
          f"-> version {floor['version']} ({floor['framed_chars']} chars with {credentials.PREFIX} -> version "
          f"{floor['framed_version']}); a TB1: code fits version 8-M up to {floor['v8_max_bytes']} B, "
          f"13-M up to {floor['v13_max_bytes']} B: "
          f"v8 {'reachable' if floor['v8_reachable'] else 'NOT reachable with two signatures and a holder key'}")
    for view, f in fetch.items():
        print(f"driving licence, {view} view as a two-way 授权调取 code: version {f['fetch_version']} ({f['alg']}; "
              f"{f['plain_version']} without, +{f['extra_chars']} chars)")
    for t in throughput:
        print(f"{t['alg']:6} N={t['n']}: sign {t['licences_signed_per_s']:.0f} licences/s ({t['views_per_licence']} views each), "
              f"present {t['presentations_per_s']:.0f}/s, verify {t['verifications_per_s']:.0f}/s; bare {t['alg']} verify "
              f"{t['bare_verify_per_s']:.0f}/s, bound {t['bound_per_s']:.0f}/s, ratio {t['ratio_vs_bound']:.2f}")

    result = {
        "now": NOW, "python": platform.python_version(), "views": rows, "dcc": dcc, "targets": targets, "floor": floor,
        "throughput": throughput, "fetch": fetch,
    }
    sys.stdout.flush()
    print(json.dumps(result, separators=(",", ":")))


if __name__ == "__main__":
    main()
