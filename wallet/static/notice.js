// 变动提醒 / What changed since the last visit, said once in the app when it opens: a licence on this phone revoked,
// suspended or issued anew (so this copy no longer works), a health code's colour changed. The wallet keeps what
// the citizen last saw (localStorage "tb.seen": each licence's state, each health code's colour), compares it with
// what it holds after the opening checks, and notes the new state as seen when the page is left.
// A licence's state comes from the issuer (GET /issuer/records: the licence last issued from each register entry
// and its status), stored on the copy in IndexedDB so an offline opening still compares the last thing learnt.
import * as session from "./session.js";
import { dbAll, dbGet, dbPut } from "./db.js";
import { api } from "./signin.js";
import { $, el, en } from "./ui.js";
import { colourWords } from "./words.js";

const SEEN = "tb.seen";
const STATES = {
  revoked: ["已被发证机关作废", "has been revoked by the issuer"],
  suspended: ["已被暂停使用", "has been suspended"],
  reissued: ["已重新签发（例如在另一部手机上添加），本机这一份不再有效，请重新添加", "was issued again (e.g. added on another phone); the copy on this phone no longer works: add it again"],
  valid: ["已恢复有效", "is valid again"],
};

// Online and signed in: note on each licence on this phone what the issuer says of it now.
export async function refreshLicenceStates() {
  if (!navigator.onLine || !await session.signedIn()) return;
  const r = await api("GET", "/issuer/records").catch(() => null);
  if (!r?.ok) return;
  const records = new Map(r.data.records.map((record) => [record.id, record]));
  for (const copy of await dbAll("credentials")) {
    const record = records.get(copy.record_id);
    if (!record?.last_issued) continue;
    const state = record.last_issued !== copy.elicence_id ? "reissued" : record.last_status || "valid";
    if ((copy.state || "valid") !== state) await dbPut("credentials", { ...copy, state });
  }
}

async function current() {
  const licences = {};
  for (const c of await dbAll("credentials")) licences[c.elicence_id] = { label: c.label, state: c.state || "valid" };
  const health = {};
  const slots = ["self", ...((await dbGet("health", "held")) || []).map((h) => "proxy:" + h.id)];
  for (const slot of slots) {
    const code = await dbGet("health", slot);
    if (code) health[slot] = { label: code.label, colour: code.colour };
  }
  return { licences, health };
}

export async function remember() {
  localStorage.setItem(SEEN, JSON.stringify(await current()));
}

// What changed between two states, as bilingual lines ([zh, en]).
export function changes(before, now) {
  const lines = [];
  for (const [id, licence] of Object.entries(now.licences)) {
    const was = before.licences?.[id]?.state;
    if (was && was !== licence.state && STATES[licence.state]) {
      const [zh, english] = licence.label.includes(" / ") ? licence.label.split(" / ") : [licence.label, licence.label];
      lines.push([zh + STATES[licence.state][0], english + " " + STATES[licence.state][1]]);
    }
  }
  for (const [slot, code] of Object.entries(now.health)) {
    const was = before.health?.[slot]?.colour;
    if (was && was !== code.colour) {
      const [zh, english] = code.label.includes(" / ") ? code.label.split(" / ") : [code.label, code.label];
      const [fromZh, fromEn] = colourWords(was);
      const [toZh, toEn] = colourWords(code.colour);
      lines.push([`${zh}：${fromZh} → ${toZh}`, `${english}: ${fromEn} → ${toEn}`]);
    }
  }
  return lines;
}

// On opening, after the checks: the notice (if anything changed), then this state counts as seen.
export async function showChanges() {
  const before = JSON.parse(localStorage.getItem(SEEN) || "null");
  const now = await current();
  const lines = before ? changes(before, now) : [];
  $("notice-list").replaceChildren(...lines.map(([zh, english]) => el("li", {}, zh + " ", en(english))));
  $("notice").hidden = !lines.length;
  await remember();
  document.body.dataset.noticeChecked = "1";
  addEventListener("visibilitychange", () => { if (document.visibilityState === "hidden") remember(); });
}

export function initNotice() {
  $("notice-close").addEventListener("click", () => { $("notice").hidden = true; });
}
