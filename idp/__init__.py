"""Identity provider: real-name accounts and OpenID Connect single sign-on (Authlib's server).

Public API: ``Provider`` (the composition: ``Provider.from_settings``), ``bp`` (the Blueprint) and ``errors``.

Modules, by job, from the HTTP edge down:

* ``web`` (the Blueprint and its routing table) → ``authorize`` (authorization endpoint, consent),
  ``endpoints`` (token, UserInfo, revocation, introspection, PAR, JWKS), ``discovery``, ``pages`` (sign-in,
  registration, step-up, logout), ``account_pages`` → ``web_helpers`` (what they share: provider, SSO cookie,
  CSRF, parameters, interaction state).
* ``authorization_server`` (Authlib's server holding the provider) → ``code_grant``, ``refresh_grant``,
  ``id_token``, ``client_auth``, ``token_endpoints``, ``userinfo``.
* ``provider`` (composition, keys, claims) → the services: ``accounts``, ``clients``, ``consents``, ``grants``,
  ``sessions``, ``throttle``, ``audit``, ``registry``, ``secrets``, ``liveness``, ``logout``; pure rules in
  ``interaction``, ``identity``, ``dpop``, ``disclosures``.
"""

from idp import errors
from idp.provider import Provider
from idp.web import bp

__all__ = ["Provider", "bp", "errors"]
