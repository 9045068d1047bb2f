"""The IdP's signing keys as joserfc keys (ID tokens, signed UserInfo, logout tokens: RFC 7515 via joserfc).

A key in memory is imported as it is. A key inside a PKCS#11 token (``keys.pkcs11``, ``tongban keys generate
--pkcs11 idp``) comes through ``keys.PrivateKey.signing_interface``: joserfc signs through it and the token makes
the signature. joserfc would otherwise read the private scalar to build the key's JWK form (for its ``kid``),
which a token refuses; ``TokenECKey`` builds that form from the public half.
"""

from __future__ import annotations

from joserfc.jwk import ECKey, RSAKey

import keys


class TokenECKey(ECKey):
    """An ES256 joserfc key whose private half is in a token: its JWK form is the public one (plus kid, alg)."""

    @property
    def dict_value(self) -> dict:
        data = dict(self.binding.convert_raw_key_to_dict(self.public_key, False))
        data.update(self.extra_parameters or {})
        return data


def jose_signing_key(private: keys.PrivateKey, alg: str) -> ECKey | RSAKey:
    """``private`` as a joserfc key for ``alg`` (ES256 or RS256), with its ``kid`` and ``alg``."""
    parameters = {"kid": private.kid, "alg": alg}
    if private.in_token:
        return TokenECKey.import_key(private.signing_interface(), parameters)
    key_type = RSAKey if alg == "RS256" else ECKey
    return key_type.import_key(private.crypto_key(), parameters)
