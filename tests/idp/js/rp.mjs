// A relying party built on openid-client (OpenID Certified), driven step by step by tests/idp/test_openid_client.py.
//   node rp.mjs start  '{"issuer":..., "client_id":..., "client_secret":..., "redirect_uri":..., "par": true}'
//   node rp.mjs finish '{...same, "callback": ..., "verifier": ..., "state": ..., "nonce": ...}'
// Prints one JSON object.
import * as client from 'openid-client';

const [step, raw] = process.argv.slice(2);
const input = JSON.parse(raw);

const config = await client.discovery(
  new URL(input.issuer), input.client_id,
  { id_token_signed_response_alg: 'ES256', client_secret: input.client_secret },
  client.ClientSecretBasic(input.client_secret),
  { execute: [client.allowInsecureRequests] },
);

if (step === 'start') {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const params = {
    redirect_uri: input.redirect_uri, scope: 'openid profile phone', state, nonce,
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
  };
  const url = input.par ? await client.buildAuthorizationUrlWithPAR(config, params)
    : client.buildAuthorizationUrl(config, params);
  console.log(JSON.stringify({ url: url.href, verifier, state, nonce }));
} else if (step === 'finish') {
  const tokens = await client.authorizationCodeGrant(config, new URL(input.callback), {
    pkceCodeVerifier: input.verifier, expectedState: input.state, expectedNonce: input.nonce, idTokenExpected: true,
  });
  const claims = tokens.claims();
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
  // the answer "lost": the same request again gets the same pair (grace window), then the new token is used
  const retried = await client.refreshTokenGrant(config, tokens.refresh_token);
  const retrySame = retried.refresh_token === refreshed.refresh_token && retried.access_token === refreshed.access_token;
  await client.refreshTokenGrant(config, refreshed.refresh_token);
  let reuse = 'accepted';
  try {
    await client.refreshTokenGrant(config, tokens.refresh_token);
  } catch (e) {
    reuse = e.error || e.code || String(e);
  }
  const logout = client.buildEndSessionUrl(config, {
    id_token_hint: tokens.id_token, post_logout_redirect_uri: input.post_logout_redirect_uri, state: 'bye',
  });
  console.log(JSON.stringify({
    claims, userinfo, refreshed: Boolean(refreshed.access_token && refreshed.refresh_token),
    rotated: refreshed.refresh_token !== tokens.refresh_token, retrySame, reuse, logout: logout.href,
  }));
} else {
  console.error(`unknown step ${step}`);
  process.exit(2);
}
