"""Identity provider: real-name accounts and OpenID Connect single sign-on (Authlib's server)."""

from idp import errors
from idp.provider import Provider
from idp.web import bp

__all__ = ["Provider", "bp", "errors"]
