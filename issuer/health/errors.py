"""The health package's errors: one root (``HealthError``, an ``issuer.errors.IssuerError``), the reason code a
class attribute (ARCHITECTURE.md principle 5); the HTTP mapping is the web layers' (``issuer.health.web``,
``issuer.health.admin_web``)."""

from __future__ import annotations

from issuer.errors import IssuerError, NotAuthorisedError


class HealthError(IssuerError):
    reason = "health_error"


class UnknownPerson(HealthError):
    reason = "unknown_person"


class ProxyError(HealthError):
    reason = "proxy_error"


class OutOfScope(NotAuthorisedError):
    """A status change for a citizen outside the acting authority's region (``StatusDesk.set_status``'s scope
    check). A ``NotAuthorisedError`` (403 at the edge), not a ``HealthError``."""

    reason = "out_of_region"


class InvitationNotFound(HealthError):
    reason = "invitation_not_found"


class InvitationClosed(HealthError):
    reason = "invitation_closed"


class InvitationExpired(HealthError):
    reason = "invitation_expired"


__all__ = ["HealthError", "InvitationClosed", "InvitationExpired", "InvitationNotFound", "OutOfScope", "ProxyError",
           "UnknownPerson"]
