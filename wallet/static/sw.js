// Service worker for /wallet/: the page and its scripts stay available offline (network first, cache as
// fallback, so updates arrive whenever the phone is online). Licences and keys live in IndexedDB, not here.
const CACHE = "tongban-wallet-v8";
// wallet.js and the modules it imports (one per section), the shared libraries, and the words (credentials/words.py).
const MODULES = ["wallet", "ui", "db", "words", "signin", "records", "presenting", "history", "health", "health-view",
  "family-proxies", "family", "elderly", "session", "tb-format", "scan", "sd-jwt", "share", "unlock", "fetch-grant",
  "phone-licences", "notice"];
const ASSETS = ["/wallet/", "/wallet/words.json", "/wallet/static/wallet.css", "/wallet/static/icon.svg",
  "/wallet/manifest.webmanifest", "/wallet/static/icon-192.png", "/wallet/static/icon-512.png",
  "/wallet/static/vendor/qrcode-generator-2.0.4.mjs", "/wallet/static/vendor/jsqr-1.4.0.js",
  ...MODULES.map((name) => `/wallet/static/${name}.js`)];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(ASSETS)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((names) => Promise.all(names.filter((n) => n !== CACHE).map((n) => caches.delete(n))))
    .then(() => self.clients.claim()));
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== location.origin || !url.pathname.startsWith("/wallet/")) return;
  const key = url.pathname === "/wallet/" ? "/wallet/" : event.request;  // the sign-in return carries ?code=...
  event.respondWith(fetch(event.request).then((response) => {
    if (response.ok && url.pathname !== "/wallet/sw.js") {
      const copy = response.clone();
      caches.open(CACHE).then((cache) => cache.put(key, copy));
    }
    return response;
  }).catch(() => caches.match(key)));
});
