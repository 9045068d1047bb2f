// Scanning a two-way counter's code (柜台码, credentials/counter_code.py) with the phone, as venue codes work.
//
// "扫柜台码 / Scan counter code" opens the back camera (getUserMedia) and reads frames with the browser's
// BarcodeDetector where it has one (Android Chrome, Safari), else with the vendored jsQR decoder (pure
// JavaScript, loaded only then: vendor/jsqr-1.4.0.js, Apache-2.0). "从图片识别 / From a picture" reads a photo
// or screenshot the same way, for phones where the camera cannot be opened from the page.
// A code that parses (tb.parseCounterCode, strict) binds the wallet's next presentations to that counter id
// and challenge for 60 s: wallet.js asks binding() when it signs, and is told by the callback given to init()
// whenever the binding changes. No network is needed; nothing leaves the phone.
import * as tb from "./tb-format.js";

const BIND_SECONDS = 60;  // a counter accepts its challenge for 60 s (verifier/challenges.py MAX_AGE)
const FRAME_MS = 300;
const MAX_SIDE = 1280;  // frames and pictures are scaled down to this before decoding
const $ = (id) => document.getElementById(id);

let bound = null;  // {counterId, challenge, until}
let stream = null, timer = null, busy = false, decode = null, changed = () => {};

// The counter binding in force at `now` (seconds), or null.
export function binding(now = Date.now() / 1000) {
  return bound && bound.until > now ? bound : null;
}

export function init(onChange) {
  changed = onChange;
  $("scan-counter").addEventListener("click", () => (stream ? stop() : start()));
  $("scan-stop").addEventListener("click", stop);
  $("scan-picture").addEventListener("change", fromPicture);
  // The camera never stays on behind the holder's back: not when the page is hidden, nor off the QR screen.
  document.addEventListener("visibilitychange", () => { if (document.hidden) stop(); });
  setInterval(paint, 1000);
}

function status(text, error = false) {
  const p = $("scan-status");
  p.hidden = !text;
  p.textContent = text || "";
  p.classList.toggle("error", error);
}

function paint() {
  const note = $("bound");
  if (bound && bound.until <= Date.now() / 1000) {
    bound = null;
    status("柜台码已过期，请重新扫描。 / The counter code has expired: scan it again.", true);
    changed();
  }
  note.hidden = !bound;
  if (!bound) { delete note.dataset.counter; return; }
  const left = Math.ceil(bound.until - Date.now() / 1000);
  note.dataset.counter = bound.counterId;
  note.replaceChildren("仅供柜台 ", strong(bound.counterId), " 核验，请在 " + left + " 秒内出示 ",
    span("For counter " + bound.counterId + " only: show it within " + left + " s"));
}

function strong(text) { const s = document.createElement("strong"); s.textContent = text; return s; }
function span(text) { const s = document.createElement("span"); s.className = "en"; s.lang = "en"; s.textContent = text; return s; }

// Any decoded text: a counter code binds; anything else is ignored (camera) or reported (picture).
function accept(texts) {
  for (const text of texts) {
    let code;
    try { code = tb.parseCounterCode(text); } catch (e) { if (e instanceof tb.CounterCodeError) continue; throw e; }
    bound = { counterId: code.counterId, challenge: code.challenge, until: Date.now() / 1000 + BIND_SECONDS };
    stop();
    status("");
    paint();
    changed();
    return true;
  }
  return false;
}

export async function qrDecoder() {  // also share.js: an app's request QR in a picture
  return decoder();
}

async function decoder() {
  if (decode) return decode;
  if ("BarcodeDetector" in globalThis) {
    try {
      if ((await globalThis.BarcodeDetector.getSupportedFormats()).includes("qr_code")) {
        const detector = new globalThis.BarcodeDetector({ formats: ["qr_code"] });
        decode = async (source) => (await detector.detect(source)).map((r) => r.rawValue);
        return decode;
      }
    } catch { /* fall back to the vendored decoder */ }
  }
  await import("./vendor/jsqr-1.4.0.js");  // a UMD bundle: it sets globalThis.jsQR
  const jsQR = globalThis.jsQR;
  const canvas = document.createElement("canvas");
  decode = async (source) => {
    const width = source.videoWidth || source.width, height = source.videoHeight || source.height;
    const scale = Math.min(1, MAX_SIDE / Math.max(width, height));
    canvas.width = Math.max(1, Math.round(width * scale));
    canvas.height = Math.max(1, Math.round(height * scale));
    const g = canvas.getContext("2d", { willReadFrequently: true });
    g.drawImage(source, 0, 0, canvas.width, canvas.height);
    const found = jsQR(g.getImageData(0, 0, canvas.width, canvas.height).data, canvas.width, canvas.height,
      { inversionAttempts: "attemptBoth" });
    return found ? [found.data] : [];
  };
  return decode;
}

async function start() {
  if (!navigator.mediaDevices?.getUserMedia) {
    return status("此浏览器无法打开摄像头，请用“从图片识别”。 / This browser cannot open the camera: use “From a picture”.", true);
  }
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
  } catch (e) {
    stream = null;
    return status("无法打开摄像头（" + e.name + "），请用“从图片识别”。 / Cannot open the camera: use “From a picture”.", true);
  }
  const video = $("scan-video");
  video.srcObject = stream;
  await video.play().catch(() => {});
  $("scan-box").hidden = false;
  status("请将柜台码对准摄像头 / Hold the counter's code in front of the camera");
  timer = setInterval(frame, FRAME_MS);
}

async function frame() {
  const video = $("scan-video");
  if (stream && $("show").hidden) return stop();
  if (!stream || busy || video.readyState < 2) return;
  busy = true;
  try { accept(await (await decoder())(video)); } catch (e) { console.warn("scan", e); } finally { busy = false; }
}

function stop() {
  if (timer) { clearInterval(timer); timer = null; }
  if (stream) { stream.getTracks().forEach((t) => t.stop()); stream = null; }
  $("scan-video").srcObject = null;
  $("scan-box").hidden = true;
}

async function fromPicture(event) {
  const file = event.target.files && event.target.files[0];
  event.target.value = "";
  if (!file) return;
  status("正在识别… / Reading the picture…");
  let bitmap = null;
  try {
    bitmap = await createImageBitmap(file);
    if (!accept(await (await decoder())(bitmap))) {
      status("图片中没有找到柜台码。 / No counter code found in the picture.", true);
    }
  } catch (e) {
    status("图片无法读取。 / The picture cannot be read.", true);
  } finally {
    bitmap?.close();
  }
}
