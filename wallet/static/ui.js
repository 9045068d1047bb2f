// What every screen of the wallet shares: the status line (no alert/confirm pop-ups), building elements, the
// bilingual words (English in <span class="en" lang="en">), switching screens, and the clock format.
export const $ = (id) => document.getElementById(id);
const showListeners = [];

export function say(message, error = false) {
  const status = $("status");
  status.hidden = !message;
  status.textContent = message || "";
  status.classList.toggle("error", error);
  delete status.dataset.offline;
}
// Offline (navigator.onLine is false, or a request could not be sent): say what needs the network and stay in the
// app; a button that would navigate (sign-in) must not land on the browser's offline page.
export function needsNetwork(zh, english) {
  say(`无法连接：${zh}需要联网，请联网后重试。 / No connection: ${english} needs the network; try again when online.`, true);
  $("status").dataset.offline = "1";
}
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v; else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}
export const en = (...text) => el("span", { class: "en", lang: "en" }, ...text);
export function bilingual(text) {  // "中文 / English" -> 中文 <span class="en" lang="en">English</span>
  const [zh, english] = String(text).split(" / ");
  return english ? [zh + " ", en(english)] : [zh];
}
// Another screen opens: presenting stops, the home screen's health cards redraw (presenting.js, health.js listen).
export function onShow(listener) { showListeners.push(listener); }
export function show(section) {
  say("");
  for (const id of ["home", "records", "show", "family-section", "share-section"]) $(id).hidden = id !== section;
  $("history-section").hidden = section !== "home";
  for (const listener of showListeners) listener(section);
  window.scrollTo(0, 0);
}
export const clock = (seconds) => new Date(seconds * 1000).toLocaleString("zh-CN", { hour12: false, month: "numeric",
  day: "numeric", hour: "2-digit", minute: "2-digit" });
