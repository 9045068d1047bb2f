// SD-JWT VC on the phone (RFC 9901) and the OpenID4VP 1.0 pieces the wallet needs, no DOM (it also runs under
// Node: tests/wallet/test_js_sd_jwt.py):
//  * where each Disclosure sits in the claims (§7.1 steps 3-5, as credentials/sdjwt/disclosures.py resolves them);
//  * a presentation of only the Disclosures on the way to, or beneath, the chosen DCQL claims paths (§5.1, as
//    credentials/sdjwt/holder.py), with a KB-JWT (§4.3: typ kb+jwt, iat, aud = the verifier's client_id, nonce,
//    sd_hash) signed by the device key through WebCrypto;
//  * the Request Object's checks (OpenID4VP 1.0 §5.10, RFC 9101), as verifier/online/request.py
//    verify_request_object: ES256 by the app's registered key, typ oauth-authz-req+jwt, for the link's client_id,
//    current, vp_token by direct_post;
//  * DCQL claims path pointers (§7.1) and claim sets (§6.4.1).
import { b64url, fromB64url, signJwt } from "./tb-format.js";

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });
export const REQUEST_TYP = "oauth-authz-req+jwt";

export class ShareError extends Error {
  constructor(reason, message) { super(message || reason); this.reason = reason; }
}

const json = (part) => JSON.parse(dec.decode(fromB64url(part)));
const sha256 = async (text) => b64url(new Uint8Array(await crypto.subtle.digest("SHA-256", enc.encode(text))));

export function split(text) {
  const parts = String(text).split("~");
  if (parts.length < 2) throw new ShareError("sd_jwt_malformed");
  return { jwt: parts[0], disclosures: parts.slice(1, -1).filter(Boolean), kb: parts.at(-1) || null };
}

export function payloadOf(sdJwt) { return json(split(sdJwt).jwt.split(".")[1]); }

// {claims, places}: the claims with every Disclosure resolved, and each Disclosure's path (names and positions).
export async function resolve(sdJwt) {
  const { jwt, disclosures } = split(sdJwt);
  const byDigest = new Map();
  for (const d of disclosures) byDigest.set(await sha256(d), { raw: d, content: json(d) });
  const places = new Map();
  const walk = (value, path) => {
    if (Array.isArray(value)) {
      const out = [];
      for (const element of value) {
        if (element && typeof element === "object" && !Array.isArray(element) && "..." in element) {
          const found = byDigest.get(element["..."]);
          if (!found) continue;
          places.set(found.raw, [...path, out.length]);
          out.push(walk(found.content[1], [...path, out.length]));
        } else out.push(walk(element, [...path, out.length]));
      }
      return out;
    }
    if (value && typeof value === "object") {
      const out = {};
      for (const [k, v] of Object.entries(value)) if (k !== "_sd" && k !== "_sd_alg") out[k] = walk(v, [...path, k]);
      for (const digest of value._sd || []) {
        const found = byDigest.get(digest);
        if (!found || found.content.length !== 3) continue;
        const name = found.content[1];
        places.set(found.raw, [...path, name]);
        out[name] = walk(found.content[2], [...path, name]);
      }
      return out;
    }
    return value;
  };
  return { claims: walk(json(jwt.split(".")[1]), []), places };
}

// A Disclosure at `place` lies on the way to `path` or beneath it (null matches any array position).
export function covers(path, place) {
  const n = Math.min(path.length, place.length);
  for (let i = 0; i < n; i++) {
    if (path[i] === null ? typeof place[i] !== "number" : path[i] !== place[i]) return false;
  }
  return true;
}

// OpenID4VP §7.1: the values a claims path pointer selects.
export function select(path, claims) {
  let current = [claims];
  for (const part of path) {
    const next = [];
    for (const e of current) {
      if (typeof part === "string" && e && typeof e === "object" && !Array.isArray(e) && part in e) next.push(e[part]);
      else if (part === null && Array.isArray(e)) next.push(...e);
      else if (typeof part === "number" && Array.isArray(e) && part < e.length) next.push(e[part]);
    }
    current = next;
  }
  return current;
}

// DCQL §6.4.1: the claim sets (most wanted first); the ids in every set cannot be left out.
export function claimOptions(query) {
  return query.claim_sets || [(query.claims || []).map((c, i) => c.id ?? `_${i}`)];
}
export function requiredIds(query) {
  const sets = claimOptions(query).map((s) => new Set(s));
  return new Set([...sets[0]].filter((id) => sets.every((s) => s.has(id))));
}

// The SD-JWT with only the Disclosures for `paths`, and a KB-JWT for this verifier and request.
export async function present(sdJwt, paths, { privateKey, nonce, audience, iat }) {
  const { jwt } = split(sdJwt);
  const { places } = await resolve(sdJwt);
  const kept = [...places].filter(([, place]) => paths.some((p) => covers(p, place))).map(([raw]) => raw);
  const presented = [jwt, ...kept].join("~") + "~";
  const kb = await signJwt({ typ: "kb+jwt", alg: "ES256" },
    { iat, aud: audience, nonce, sd_hash: await sha256(presented) }, privateKey);
  return presented + kb;
}

// The wallet's checks of a Request Object; `jwks`: the app's registered keys (/verifier/clients/<id>).
export async function verifyRequestObject(token, jwks, clientId, now) {
  const parts = String(token).split(".");
  if (parts.length !== 3) throw new ShareError("request_invalid", "not a compact JWS");
  let header, claims;
  try { header = json(parts[0]); claims = json(parts[1]); } catch { throw new ShareError("request_invalid"); }
  if (header.typ !== REQUEST_TYP || header.alg !== "ES256") throw new ShareError("request_signature", "typ/alg");
  const jwk = (jwks.keys || []).find((k) => k.kid === header.kid) || null;
  let verified = false;
  for (const candidate of jwk ? [jwk] : jwks.keys || []) {
    if (candidate.kty !== "EC" || candidate.crv !== "P-256") continue;
    const key = await crypto.subtle.importKey("jwk", { kty: "EC", crv: "P-256", x: candidate.x, y: candidate.y },
      { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
    if (await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, fromB64url(parts[2]),
      enc.encode(parts[0] + "." + parts[1]))) { verified = true; break; }
  }
  if (!verified) throw new ShareError("request_signature", "not signed by the app's registered key");
  if (claims.client_id !== clientId || claims.iss !== clientId) throw new ShareError("request_invalid", "client_id");
  if (claims.response_type !== "vp_token" || claims.response_mode !== "direct_post") {
    throw new ShareError("request_invalid", "response_type / response_mode");
  }
  if (!Number.isInteger(claims.exp) || !Number.isInteger(claims.iat) || claims.iat > now + 30 || now >= claims.exp) {
    throw new ShareError("request_expired");
  }
  const credentials = claims.dcql_query?.credentials;
  if (!Array.isArray(credentials) || !credentials.length || typeof claims.nonce !== "string"
      || typeof claims.state !== "string" || typeof claims.response_uri !== "string") {
    throw new ShareError("request_invalid", "dcql_query, nonce, state, response_uri");
  }
  return claims;
}
