// IndexedDB on the phone: the device key, licences, health codes and what was shown. Nothing here leaves the phone.
//  * device key: WebCrypto ECDSA P-256, non-extractable, a CryptoKey kept in IndexedDB; it never leaves the phone.
let dbPromise = null;
function db() {
  dbPromise ??= new Promise((resolve, reject) => {
    const open = indexedDB.open("tongban-wallet", 2);
    open.onupgradeneeded = (event) => {
      const d = open.result;
      if (event.oldVersion < 1) {
        d.createObjectStore("keys");
        d.createObjectStore("credentials", { keyPath: "elicence_id" });
        d.createObjectStore("history", { keyPath: "id", autoIncrement: true });
      }
      if (event.oldVersion < 2) d.createObjectStore("health");  // "self", "proxy:<id>", "held"
    };
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
  return dbPromise;
}
export async function store(name, mode, fn) {
  const d = await db();
  return new Promise((resolve, reject) => {
    const t = d.transaction(name, mode);
    const request = fn(t.objectStore(name));
    t.oncomplete = () => resolve(request?.result);
    t.onerror = () => reject(t.error);
  });
}
export const dbGet = (name, key) => store(name, "readonly", (s) => s.get(key));
export const dbAll = (name) => store(name, "readonly", (s) => s.getAll());
export const dbPut = (name, value, key) => store(name, "readwrite", (s) => (key === undefined ? s.put(value) : s.put(value, key)));
export const dbDelete = (name, key) => store(name, "readwrite", (s) => s.delete(key));

export async function deviceKey() {
  let key = await dbGet("keys", "device");
  if (!key) {
    const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
    const { kty, crv, x, y } = await crypto.subtle.exportKey("jwk", pair.publicKey);
    key = { privateKey: pair.privateKey, publicJwk: { kty, crv, x, y }, created: Date.now() };
    await dbPut("keys", key, "device");
  }
  return key;
}
