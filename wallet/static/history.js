// What was shown, where and when: kept on the phone only, listed on the home screen, exported as a file.
import { dbAll, dbPut } from "./db.js";
import { $, el, en } from "./ui.js";
import { claimLabel } from "./words.js";

export async function recordShown(entry) {
  await dbPut("history", { at: Date.now(), ...entry });
  renderHistory();
}

export async function renderHistory() {
  const items = (await dbAll("history")).sort((a, b) => b.at - a.at).slice(0, 20);
  $("history-empty").hidden = items.length > 0;
  $("history").replaceChildren(...items.map((h) => el("li", {},
    el("time", { datetime: new Date(h.at).toISOString() }, new Date(h.at).toLocaleString("zh-CN", { hour12: false })),
    el("span", {}, h.label.split(" / ")[0], " · ", h.view_label.split(" / ")[0], "："),
    el("span", {}, h.claims.map((c) => claimLabel(c)[0]).join("、")),
    h.counter ? el("span", { class: "line" }, "柜台 ", en("counter "), h.counter) : null,
  )));
}

// The citizen's own copy of where what was shown (PIPL art. 45): everything this phone recorded, as a file.
export async function exportHistory() {
  const items = (await dbAll("history")).sort((a, b) => a.at - b.at).map((h) => ({
    at: new Date(h.at).toISOString(), licence: h.label, elicence_id: h.elicence_id, view: h.view,
    view_label: h.view_label, claims: h.claims, counter: h.counter || null }));
  const body = JSON.stringify({ generated_at: new Date().toISOString(),
    note: "出示记录，仅保存在本机 / What this phone showed, kept on this phone only", shown: items }, null, 1);
  const link = el("a", { href: URL.createObjectURL(new Blob([body], { type: "application/json" })),
    download: "tongban-shown.json" });
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}
