// 长辈模式 / Large text: bigger type and the QR code across the screen's full width (presenting.js, wallet.css), remembered on the phone.
import { drawQr, presenting } from "./presenting.js";
import { $ } from "./ui.js";

export function initElderly() {
  applyElderly(localStorage.getItem("tb.elderly") === "1");
  $("elderly").addEventListener("change", (e) => {
    localStorage.setItem("tb.elderly", e.target.checked ? "1" : "0");
    applyElderly(e.target.checked);
  });
}

function applyElderly(on) {
  document.documentElement.classList.toggle("elderly", on);
  $("elderly").checked = on;
  if (presenting) drawQr(presenting.text);
}
