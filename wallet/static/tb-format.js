// The tongban presentation wire format, in the browser: exactly what credentials/presentation.py and
// credentials/framing.py produce, so the offline verifier (verifier/pipeline.py) cannot tell them apart.
//
//   "TB1:" + base45( maybe-zlib( CBOR [credential bstr, holder proof bstr] ) )
//   holder proof = COSE_Sign1 (RFC 9052 §4.2), tag 18:
//     [bstr {1: -7}, {}, bstr CBOR {6: iat (, 10: nonce, 3: aud, -65537: fetch handle)}, sig]
//   sig = ES256 (raw r||s, RFC 9053 §2.1) over Sig_structure ["Signature1", protected, SHA-256(credential), payload]
//
// A tiny deterministic CBOR encoder (RFC 8949 §4.2.1: shortest heads, map keys in bytewise order of
// their encodings) for just these shapes: unsigned/negative ints, byte and text strings, arrays, maps, tags.
// No DOM here: it also runs under Node (tests/wallet/test_js_format.py).
//
// Also the reader of a two-way counter's code (credentials/counter_code.py), accepting exactly what the
// Python parser accepts:  "TBC1:" + base45( deterministic CBOR {1: counter id, 2: 16-byte challenge, 3: issued-at} )

const enc = new TextEncoder();

function head(major, n) {
  const m = major << 5;
  if (n < 24) return Uint8Array.of(m | n);
  if (n < 0x100) return Uint8Array.of(m | 24, n);
  if (n < 0x10000) return Uint8Array.of(m | 25, n >> 8, n & 0xff);
  if (n < 0x100000000) return Uint8Array.of(m | 26, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
  if (!Number.isSafeInteger(n)) throw new RangeError("integer out of range");
  const out = new Uint8Array(9);
  out[0] = m | 27;
  new DataView(out.buffer).setBigUint64(1, BigInt(n));
  return out;
}

export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

export class Tag { constructor(tag, value) { this.tag = tag; this.value = value; } }

function compareBytes(a, b) {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

// value: number (integer), Uint8Array, string, Array, Map (integer or text keys), Tag
export function cbor(value) {
  if (typeof value === "number") {
    if (!Number.isInteger(value)) throw new TypeError("only integers");
    return value >= 0 ? head(0, value) : head(1, -1 - value);
  }
  if (value instanceof Uint8Array) return concat(head(2, value.length), value);
  if (typeof value === "string") { const b = enc.encode(value); return concat(head(3, b.length), b); }
  if (Array.isArray(value)) return concat(head(4, value.length), ...value.map(cbor));
  if (value instanceof Map) {
    const entries = [...value].map(([k, v]) => [cbor(k), cbor(v)]).sort((x, y) => compareBytes(x[0], y[0]));
    return concat(head(5, entries.length), ...entries.flat());
  }
  if (value instanceof Tag) return concat(head(6, value.tag), cbor(value.value));
  throw new TypeError("cannot encode " + typeof value);
}

// RFC 9285 base45
const B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
export function base45(bytes) {
  let out = "";
  for (let i = 0; i + 1 < bytes.length; i += 2) {
    let n = bytes[i] * 256 + bytes[i + 1];
    const c = n % 45; n = (n - c) / 45;
    const d = n % 45; const e = (n - d) / 45;
    out += B45[c] + B45[d] + B45[e];
  }
  if (bytes.length % 2) {
    const n = bytes[bytes.length - 1];
    out += B45[n % 45] + B45[Math.floor(n / 45)];
  }
  return out;
}

const B45_VALUE = new Map([...B45].map((c, i) => [c, i]));

export class CounterCodeError extends Error {}

// RFC 9285 §4.2: groups of 3 characters (≤ 65535) and a last group of 2 (≤ 255); anything else is refused.
export function unbase45(text) {
  if (text.length % 3 === 1) throw new CounterCodeError("base45 length");
  const out = [];
  for (let i = 0; i < text.length; i += 3) {
    const digits = [...text.slice(i, i + 3)].map((c) => {
      const v = B45_VALUE.get(c);
      if (v === undefined) throw new CounterCodeError("base45 character");
      return v;
    });
    const n = digits.reduce((sum, d, k) => sum + d * 45 ** k, 0);
    if (digits.length === 3) {
      if (n > 0xffff) throw new CounterCodeError("base45 group");
      out.push(n >> 8, n & 0xff);
    } else {
      if (n > 0xff) throw new CounterCodeError("base45 group");
      out.push(n);
    }
  }
  return Uint8Array.from(out);
}

const COUNTER_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const utf8 = new TextDecoder("utf-8", { fatal: true });

// → {counterId, challenge (16 bytes), issuedAt}; anything else throws CounterCodeError.
export function parseCounterCode(text) {
  if (typeof text !== "string") throw new CounterCodeError("not text");
  text = text.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, "");  // a scanner's Enter; base45 never ends in a space
  if (text.length > 256 || !text.startsWith("TBC1:")) throw new CounterCodeError("not a counter code");
  const bytes = unbase45(text.slice(5));
  let at = 0;
  const byte = () => { if (at >= bytes.length) throw new CounterCodeError("truncated"); return bytes[at++]; };
  const head = () => {  // [major type, argument]; the re-encoding below refuses every non-shortest form
    const b = byte(), info = b & 31;
    let n = info;
    if (info === 24) n = byte();
    else if (info === 25) n = byte() * 256 + byte();
    else if (info === 26) n = (((byte() * 256 + byte()) * 256 + byte()) * 256) + byte();
    else if (info === 27) { n = 0; for (let k = 0; k < 8; k++) n = n * 256 + byte(); }
    else if (info > 27) throw new CounterCodeError("indefinite or reserved");
    return [b >> 5, n];
  };
  const [major, count] = head();
  if (major !== 5 || count !== 3) throw new CounterCodeError("not a map of three");
  const entries = new Map();
  for (let i = 0; i < 3; i++) {
    const [km, key] = head();
    if (km !== 0 || entries.has(key)) throw new CounterCodeError("bad key");
    const [vm, n] = head();
    if (vm === 0) { entries.set(key, n); continue; }
    if ((vm !== 2 && vm !== 3) || n > bytes.length - at) throw new CounterCodeError("bad value");
    const raw = bytes.slice(at, at + n);
    at += n;
    if (vm === 2) entries.set(key, raw);
    else {
      try { entries.set(key, utf8.decode(raw)); } catch { throw new CounterCodeError("bad text"); }
    }
  }
  if (at !== bytes.length) throw new CounterCodeError("trailing bytes");
  const counterId = entries.get(1), challenge = entries.get(2), issuedAt = entries.get(3);
  if (typeof counterId !== "string" || !COUNTER_ID.test(counterId)) throw new CounterCodeError("counter id");
  if (!(challenge instanceof Uint8Array) || challenge.length !== 16) throw new CounterCodeError("challenge");
  if (typeof issuedAt !== "number" || !Number.isSafeInteger(issuedAt)) throw new CounterCodeError("issued-at");
  const again = cbor(new Map([[1, counterId], [2, challenge], [3, issuedAt]]));
  if (again.length !== bytes.length || again.some((b, i) => b !== bytes[i])) throw new CounterCodeError("not deterministic");
  return { counterId, challenge, issuedAt };
}

async function streamBytes(stream) {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

// zlib (RFC 1950): CompressionStream's "deflate" format is the zlib wrapper; first byte 0x78.
export async function zlib(bytes) {
  return streamBytes(new Blob([bytes]).stream().pipeThrough(new CompressionStream("deflate")));
}

export async function frame(bytes) {
  const compressed = await zlib(bytes);
  return "TB1:" + base45(compressed.length < bytes.length ? compressed : bytes);
}

export async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

const PROTECTED_ES256 = cbor(new Map([[1, -7]]));  // a1 01 26

// privateKey: a WebCrypto ECDSA P-256 CryptoKey (it may be non-extractable). now: seconds. challenge: Uint8Array | null
// audience: the counter id of a scanned counter code (CWT aud, RFC 8392 §3.1.3) | null
// fetchHandle: 16 bytes the issuer handed out to let a counter fetch this licence (免证办, issuer/fetch.py) | null
export async function presentation(credential, privateKey, now, challenge = null, audience = null, fetchHandle = null) {
  const claims = new Map([[6, now]]);
  if (challenge) claims.set(10, challenge);
  if (audience) claims.set(3, audience);
  if (fetchHandle) {
    if (!(fetchHandle instanceof Uint8Array) || fetchHandle.length !== 16) throw new TypeError("fetch handle");
    claims.set(-65537, fetchHandle);
  }
  const payload = cbor(claims);
  const toBeSigned = cbor(["Signature1", PROTECTED_ES256, await sha256(credential), payload]);
  const signature = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, privateKey, toBeSigned));
  const proof = cbor(new Tag(18, [PROTECTED_ES256, new Map(), payload, signature]));
  return frame(cbor([credential, proof]));
}

// --- JOSE bits for the OpenID4VCI key proof (RFC 7515 compact JWS, ES256 = raw r||s) -------------------------
export function b64url(bytes) {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function fromB64url(text) {
  const s = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

export async function signJwt(header, claims, privateKey) {
  const input = b64url(enc.encode(JSON.stringify(header))) + "." + b64url(enc.encode(JSON.stringify(claims)));
  const sig = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, privateKey, enc.encode(input));
  return input + "." + b64url(new Uint8Array(sig));
}
