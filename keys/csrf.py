"""Synchroniser tokens against cross-site request forgery (OWASP CSRF Prevention Cheat Sheet, "Synchronizer
Token Pattern"): a random per-session secret put into every form and compared, in constant time, with the
one the server kept.

One implementation for both web front ends that post forms: the IdP's pages (token kept in the Flask
session) and the health desk's /admin (token kept in its server-side staff session). Where the token is kept
and what a refusal looks like stay with each front end; making and comparing tokens is here. Only the
standard library: both ``idp`` and ``issuer`` may import ``keys``.
"""

from __future__ import annotations

import secrets

TOKEN_BYTES = 24  # 192 bits of randomness, 32 URL-safe characters


def new_csrf_token() -> str:
    """A fresh, unguessable synchroniser token."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def csrf_token_matches(sent: object, expected: str | None) -> bool:
    """Whether the form's ``sent`` token is the session's ``expected`` one.

    False when the session has no token, or ``sent`` is missing or not a string; compared as UTF-8 bytes in
    constant time, so a non-ASCII value in the form is a mismatch, not an error (``secrets.compare_digest``
    refuses non-ASCII ``str``).
    """
    if not expected or not isinstance(sent, str):
        return False
    return secrets.compare_digest(sent.encode(), expected.encode())
