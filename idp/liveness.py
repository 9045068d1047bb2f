"""Liveness / face-check adapters that raise a session to the real-person assurance level.

``LivenessChecker`` is the port a real provider implements (the citizen's selfie video checked against
the photo on record, e.g. a national face-verification service). ``DemoLiveness`` accepts the demo
challenge ``"demo"`` so the step-up flow can be exercised end to end; never deploy it.
"""

from __future__ import annotations

from typing import Protocol


class LivenessChecker(Protocol):
    def check(self, sub: str, evidence: str) -> bool: ...


class DemoLiveness:
    def check(self, sub: str, evidence: str) -> bool:
        return evidence == "demo"
