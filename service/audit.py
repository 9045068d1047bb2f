"""The tamper-evident audit log, wired: what goes into the chain, signed anchors, retention, verification.

The chain itself is ``idp.audit`` (the IdP's audit events table: sign-ins, consents, authorisations — the
disclosures to relying parties —, logouts, revoked token families). The issuer's events (issuances, status
changes; ``storage.events``) are appended to the same chain by ``AuditSink``: collected during a request and
written when it ends, after the issuer's own transaction has committed (an issuance inside a longer
transaction is not recorded before it is real, and never waits on its own transaction's write lock).

**Anchors.** Whoever can rewrite the whole table can recompute every digest. ``anchor`` signs the newest digest
with the hub root key (a JWS, ``typ`` ``tongban-audit-anchor+jwt``), appends it to the chain and to
``<data>/audit-anchors.jsonl`` (ship that file, or the log line, somewhere the database's administrator cannot
write). ``verify`` checks every anchor's signature against the hub root key and that the anchored entry still
has the anchored digest: a rewritten chain no longer matches its anchors.

**Retention** (PIPL art. 55–56: processing records kept ≥ 3 years; Cybersecurity Law art. 21: network logs ≥ 6
months): ``prune`` removes entries older than ``TONGBAN_AUDIT_RETENTION_DAYS`` (at least 1095) only up to an
anchored entry, and records what it removed in the chain, so the kept chain still verifies from a signed point.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from sqlalchemy import delete

from idp import models
from idp.audit import GENESIS, Audit, ChainReport

log = logging.getLogger("tongban.audit")

ANCHOR_TYP = "tongban-audit-anchor+jwt"
ANCHOR_KIND = "audit_anchor"
PRUNE_KIND = "audit_pruned"
MIN_RETENTION_DAYS = 3 * 365  # PIPL processing records
CHAINED_EVENTS = ("issuance", "status_change", "health_status", "proxy_granted", "proxy_ended", "admin_action",
                  "licence_fetched")


class AuditError(Exception):
    """The audit log cannot do what was asked; the message says why."""


@dataclass(frozen=True)
class Verdict:
    chain: ChainReport
    anchors: int
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.chain.ok and not self.problems


def anchor(audit: Audit, root: Any, anchors_file: Path, *, now: int) -> dict:
    """Sign the newest digest with ``root`` (a ``keys.ManagedKey`` with its private key) and keep it twice."""
    report = audit.verify()
    if not report.ok:
        raise AuditError(f"the chain is broken at entry {report.broken_id} ({report.problem}): not anchoring it")
    if report.last_id is None:
        raise AuditError("the audit log is empty: nothing to anchor")
    claims = {"upto": report.last_id, "digest": report.last_digest, "iat": now}
    token = jwt.encode(claims, root.private.crypto_key(), algorithm=root.public.alg,
                       headers={"typ": ANCHOR_TYP, "kid": root.public.kid})
    audit.record(ANCHOR_KIND, now=now, upto=report.last_id, digest=report.last_digest, jws=token)
    line = {"at": now, "upto": report.last_id, "digest": report.last_digest, "jws": token}
    with open(anchors_file, "a", encoding="utf-8") as out:
        out.write(json.dumps(line, sort_keys=True) + "\n")
    log.info("audit anchored", extra={"event": "audit_anchor", "upto": report.last_id, "digest": report.last_digest})
    return line


def _check_anchor(token: str, roots: list[Any]) -> dict:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise AuditError("an anchor is not a JWS") from exc
    if header.get("typ") != ANCHOR_TYP:
        raise AuditError("an anchor has the wrong type")
    for key in roots:
        if header.get("kid") == key.public.kid and header.get("alg") == key.public.alg:
            try:
                return jwt.decode(token, key.public.crypto_key(), algorithms=[key.public.alg],
                                  options={"verify_exp": False, "verify_iat": False, "require": ["upto", "digest"]})
            except jwt.PyJWTError as exc:
                raise AuditError("an anchor's signature does not verify with the hub root key") from exc
    raise AuditError(f"an anchor is signed by a key that is not the hub root's ({str(header.get('kid'))[:16]!r})")


def verify(audit: Audit, roots: list[Any], anchors_file: Path | None = None) -> Verdict:
    """The chain, its start (``GENESIS`` or a recorded prune) and every anchor (in the chain and in the file)."""
    report = audit.verify()
    problems: list[str] = []
    tokens: dict[str, str] = {}
    pruned_to: set[str] = set()
    for row in audit.rows():
        if row["kind"] in (ANCHOR_KIND, PRUNE_KIND) and row["detail"]:
            detail = json.loads(row["detail"])
            if row["kind"] == ANCHOR_KIND:
                tokens[detail.get("jws", "")] = f"entry {row['id']}"
            else:
                pruned_to.add(detail.get("digest", ""))
    if anchors_file is not None and anchors_file.exists():
        for number, line in enumerate(anchors_file.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                tokens.setdefault(json.loads(line).get("jws", ""), f"{anchors_file.name} line {number}")
    anchored: list[tuple[str, int, str, Any]] = []  # (where, upto, digest, iat) of every anchor that verifies
    for token, where in tokens.items():
        try:
            claims = _check_anchor(token, roots)
        except AuditError as exc:
            problems.append(f"{where}: {exc}")
            continue
        anchored.append((where, int(claims["upto"]), claims["digest"], claims.get("iat")))
    # A chain may start after GENESIS only where ``prune`` cut it: at an entry a signed anchor vouches for (the
    # prune record alone is a row anyone who can write the table could add, and so is a chain re-linked from
    # GENESIS after its beginning was deleted: anchors before the start are excused only by such a cut).
    cut = None
    if report.ok and report.first_id is not None and report.starts_after not in (GENESIS, ""):
        cut = max((upto for _, upto, digest, _ in anchored if digest == report.starts_after), default=None)
        if cut is None or report.starts_after not in pruned_to:
            problems.append(f"entries before {report.first_id} were removed without a prune record at a signed anchor")
    for where, upto, digest, iat in anchored:
        if cut is not None and upto <= cut:
            continue  # pruned: the chain starts after the anchored cut
        if audit.digest_of(upto) != digest:
            problems.append(f"{where}: entry {upto} no longer has the digest anchored at {iat} "
                            "(the chain was rewritten or its beginning removed)")
    return Verdict(report, len(tokens), tuple(problems))


def prune(audit: Audit, *, now: int, retention_days: int) -> int:
    """Remove entries older than the retention, up to the newest anchor among them; returns how many."""
    if retention_days < MIN_RETENTION_DAYS:
        raise AuditError(f"audit entries are kept at least {MIN_RETENTION_DAYS} days (PIPL), not {retention_days}")
    cutoff = now - retention_days * 86400
    upto = digest = None
    for row in audit.rows():
        if row["at"] >= cutoff:
            break
        if row["kind"] == ANCHOR_KIND and row["detail"]:
            detail = json.loads(row["detail"])
            upto, digest = detail["upto"], detail["digest"]
    if upto is None:
        return 0
    t = models.audit_events
    with audit.engine.begin() as conn:
        removed = conn.execute(delete(t).where(t.c.id <= upto)).rowcount
    audit.record(PRUNE_KIND, now=now, upto=upto, digest=digest, removed=removed)
    return removed


def anchor_if_due(audit: Audit, root: Any, anchors_file: Path, *, now: int, every: int) -> dict | None:
    """Anchor when the newest anchor is older than ``every`` seconds (several workers: at most a duplicate)."""
    newest = audit.events(limit=1, kinds=(ANCHOR_KIND,))
    if newest and newest[0]["at"] > now - every:
        return None
    try:
        return anchor(audit, root, anchors_file, now=now)
    except AuditError as exc:  # empty, or broken: say so every time (an operator must look)
        log.error("audit not anchored", extra={"event": "audit_anchor_failed", "reason": str(exc)[:200]})
        return None


class AuditSink:
    """``storage.events`` listener for one app: events of its requests, written to the chain when each ends."""

    def __init__(self, audit: Audit, kinds: tuple[str, ...] = CHAINED_EVENTS):
        self.audit = audit
        self.kinds = kinds

    def collect(self, pending: list, kind: str, fields: dict[str, Any]) -> None:
        if kind in self.kinds:
            pending.append((kind, {k: v for k, v in fields.items() if k != "at" and v is not None}, fields.get("at")))

    def flush(self, pending: list, now: Callable[[], int]) -> None:
        for kind, fields, at in pending:
            try:
                self.audit.record(kind, now=int(at or now()), **fields)
            except Exception as exc:  # the change itself committed; the gap shows in the metrics and the log
                log.error("audit entry not written", extra={"event": "audit_write_failed", "kind": kind,
                                                           "error": type(exc).__name__})
        pending.clear()


__all__ = ["ANCHOR_TYP", "MIN_RETENTION_DAYS", "AuditError", "AuditSink", "Verdict", "anchor", "anchor_if_due", "prune",
           "verify"]
