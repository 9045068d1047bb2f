"""Errors raised by the verifier's adapters (the pipeline itself never raises: it returns a Decision)."""


class VerifierError(Exception):
    reason = "verifier_error"

    def __init__(self, message: str, reason: str | None = None):
        super().__init__(message)
        if reason:
            self.reason = reason


class Reject(Exception):  # a control-flow signal inside the pipeline, not an error for callers
    """A check failed; ``reason`` is the stable code reported in the Decision."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(detail or reason)
        self.reason = reason
        self.detail = detail
