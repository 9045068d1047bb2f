"""Signature suites side by side on one core: signs and verifies per second for ES256, EdDSA and SM2 (keys,
gmalglib), the SM2 libraries that were compared (when installed), and a key inside a PKCS#11 token (SoftHSM2,
when installed); then QR credential issuance (sign_credential) and offline verification (verifier.pipeline.verify)
with an SM2 issuer as ratios to the same with ES256 in the same run.

Run ``python benchmarks/suite_rates.py``. Knobs: ``BENCH_SECONDS`` per measurement (default 1). Figures swing
when other work shares the machine; the ratios are measured in one run, against a bound measured beside them.
The last line is one JSON object.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import keys  # noqa: E402
from credentials import make_presentation  # noqa: E402
from credentials.credential import sign_credential  # noqa: E402
from credentials.status_list import VALID  # noqa: E402
from tests.verifier.test_pipeline import AUTHORITY_ID, IDX, NOW, URI, DictStatus, credential_body, trust_list  # noqa: E402  # noqa: E402
from verifier.pipeline import verify  # noqa: E402
from verifier.replay import MemoryReplayCache  # noqa: E402

SECONDS = float(os.environ.get("BENCH_SECONDS", "1"))
MESSAGE = os.urandom(200)


def rate(fn) -> float:
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < SECONDS:
        for _ in range(10):
            fn()
        count += 10
    return count / (time.perf_counter() - start)


def suite_rates(alg: str) -> tuple[float, float]:
    key = keys.generate(alg)
    signature = key.sign(MESSAGE)
    return rate(lambda: key.sign(MESSAGE)), rate(lambda: key.public.verify(signature, MESSAGE))


def other_libraries() -> dict[str, tuple[float, float]]:
    found: dict[str, tuple[float, float]] = {}
    try:
        import gmssl_pyx as pyx

        public, private = pyx.sm2_key_generate()
        signature = pyx.sm2_sign(private, public, MESSAGE)
        found["gmssl-pyx"] = (rate(lambda: pyx.sm2_sign(private, public, MESSAGE)),
                              rate(lambda: pyx.sm2_verify(public, MESSAGE, signature)))
    except ImportError:
        pass
    try:
        from tongsuopy.crypto import hashes as th
        from tongsuopy.crypto.asymciphers import ec as tec

        private = tec.generate_private_key(tec.SM2())
        signature = private.sign(MESSAGE, tec.ECDSA(th.SM3()))
        found["tongsuopy"] = (rate(lambda: private.sign(MESSAGE, tec.ECDSA(th.SM3()))),
                              rate(lambda: private.public_key().verify(signature, MESSAGE, tec.ECDSA(th.SM3()))))
    except ImportError:
        pass
    try:
        from gmssl import sm2 as pure

        private = keys.generate("SM2").crypto_key()
        point = private.public_key()
        other = pure.CryptSM2(private_key=private.private_scalar().hex(), public_key=(point.x + point.y).hex())
        signature = other.sign_with_sm3(MESSAGE)
        found["gmssl (pure Python)"] = (rate(lambda: other.sign_with_sm3(MESSAGE)),
                                        rate(lambda: other.verify_with_sm3(signature, MESSAGE)))
    except ImportError:
        pass
    return found


def pkcs11_rate() -> float | None:
    module = "/usr/lib/softhsm/libsofthsm2.so"
    if not Path(module).exists():
        return None
    import subprocess
    import tempfile

    from keys.pkcs11 import Pkcs11Token

    home = Path(tempfile.mkdtemp())
    (home / "tokens").mkdir()
    (home / "softhsm2.conf").write_text(f"directories.tokendir = {home / 'tokens'}\n")
    os.environ["SOFTHSM2_CONF"] = str(home / "softhsm2.conf")
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", "bench", "--pin", "1234", "--so-pin",
                    "5678"], check=True, capture_output=True)
    key = Pkcs11Token(module, "bench", "1234").generate("bench")
    return rate(lambda: key.sign(MESSAGE))


def pipeline_rates(alg: str) -> tuple[float, float]:
    issuer, holder = keys.generate(alg), keys.generate("ES256")
    body = credential_body(holder_key=holder.public)
    issued = rate(lambda: sign_credential(body, issuer))
    credential = sign_credential(body, issuer)
    trust = trust_list(issuer=issuer.public)
    status = DictStatus({(URI, IDX): VALID}, AUTHORITY_ID)
    presentations = [make_presentation(credential, holder, now=NOW, challenge=uuid.uuid4().bytes) for _ in range(400)]
    replay = MemoryReplayCache()
    assert verify(presentations[0], trust=trust, status=status, replay=replay, now=NOW).valid
    it = iter(presentations[1:] * 1000)

    def one() -> None:
        verify(next(it), trust=trust, status=status, replay=MemoryReplayCache(), now=NOW)

    return issued, rate(one)


def main() -> None:
    figures: dict[str, object] = {}
    for alg in ("ES256", "EdDSA", "SM2"):
        sign, check = suite_rates(alg)
        figures[f"{alg}_sign_per_s"], figures[f"{alg}_verify_per_s"] = round(sign), round(check)
        print(f"{alg:22s} sign {sign:8.0f}/s  verify {check:8.0f}/s  (keys)")
    for name, (sign, check) in other_libraries().items():
        print(f"{'SM2 ' + name:22s} sign {sign:8.0f}/s  verify {check:8.0f}/s")
        figures[f"sm2_{name.split()[0]}_sign_per_s"], figures[f"sm2_{name.split()[0]}_verify_per_s"] = round(sign), round(check)
    hardware = pkcs11_rate()
    if hardware is not None:
        print(f"{'ES256 PKCS#11 SoftHSM2':22s} sign {hardware:8.0f}/s")
        figures["pkcs11_softhsm_es256_sign_per_s"] = round(hardware)
    sizes = {alg: len(sign_credential(credential_body(), keys.generate(alg))) for alg in ("ES256", "SM2")}
    print(f"credential bytes       ES256 {sizes['ES256']}  SM2 {sizes['SM2']} (the alg header's 4 bytes)")
    figures.update(credential_bytes_es256=sizes["ES256"], credential_bytes_sm2=sizes["SM2"])
    es_issue, es_verify = pipeline_rates("ES256")
    gm_issue, gm_verify = pipeline_rates("SM2")
    print(f"credential signing     ES256 {es_issue:7.0f}/s  SM2 {gm_issue:7.0f}/s  ratio {gm_issue / es_issue:.2f}")
    print(f"offline verification   ES256 {es_verify:7.0f}/s  SM2 {gm_verify:7.0f}/s  ratio {gm_verify / es_verify:.2f}")
    figures.update(issue_es256_per_s=round(es_issue), issue_sm2_per_s=round(gm_issue),
                   issue_ratio=round(gm_issue / es_issue, 2), verify_es256_per_s=round(es_verify),
                   verify_sm2_per_s=round(gm_verify), verify_ratio=round(gm_verify / es_verify, 2))
    # Issue 9's and 14's ratios against the machine's bound, per suite: issuing is bounded by one signature, and a
    # presentation's verification by two (the issuer's, in the suite's algorithm, and the holder's ES256 device key).
    for alg, issued, verified in (("ES256", es_issue, es_verify), ("SM2", gm_issue, gm_verify)):
        bound = 1 / (1 / figures[f"{alg}_verify_per_s"] + 1 / figures["ES256_verify_per_s"])
        figures[f"issue_{alg.lower()}_vs_sign_bound"] = round(issued / figures[f"{alg}_sign_per_s"], 2)
        figures[f"verify_{alg.lower()}_vs_bound"] = round(verified / bound, 2)
        print(f"{alg:6s} issuing ÷ bare signing {issued / figures[f'{alg}_sign_per_s']:.2f}   "
              f"verifying ÷ two bare verifies {verified / bound:.2f}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
