// 家人代办 / Family: proxies by invitation (issue 8). The citizen invites a family member by phone or ID number;
// the page says the same whatever the number ("invitation sent; it takes effect when they accept"), because the
// service answers the same: it never tells who owns a number. The family member sees the invitation here, in
// their own wallet, with the inviter's name masked (张*) and what accepting allows, and accepts or declines
// (two taps, no pop-up, like ending a proxy). The inviter learns the name once accepted.
// API: issuer/health_web.py (POST/GET /issuer/proxy-invitations, PATCH/DELETE /issuer/proxy-invitations/<id>).

let ui = null;  // {api, say, el, signIn, refresh}: wallet.js's helpers, and its re-render of the Family screen
const $ = (id) => document.getElementById(id);
const OFFLINE = "无法连接，请联网后重试。 / No connection; try again when online.";
const SENT = "已发送邀请，对方确认后生效。 / Invitation sent; it takes effect when they accept.";
const SENT_WORDS = {
  pending: ["等待对方确认", "waiting for them to accept"], accepted: ["已接受", "accepted"],
  declined: ["已拒绝", "declined"], expired: ["已过期", "expired"],
};

export function init(helpers) {
  ui = helpers;
  $("grant-form").addEventListener("submit", invite);
}

const day = (seconds) => new Date(seconds * 1000).toLocaleDateString("zh-CN", { month: "numeric", day: "numeric" });
const words = (zh, en) => [zh + " ", ui.el("span", { class: "en", lang: "en" }, en)];

async function invite(event) {
  event.preventDefault();
  const input = $("proxy-ref");
  const button = event.submitter || $("grant-form").querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const r = await ui.api("POST", "/issuer/proxy-invitations", { to: input.value.trim() }).catch(() => null);
    if (!r) return ui.say(OFFLINE, true);
    if (r.status === 401) return ui.signIn("family");
    if (r.status === 202) {
      input.value = "";
      await renderInvitations();
      return ui.say(SENT);
    }
    if (r.status === 429) {
      return ui.say(r.data.error_description || "邀请过于频繁，请稍后再试。 / Too many invitations; try again later.", true);
    }
    ui.say("请填写家人的手机号或身份证号（不能是您自己的）。 / Enter your family member's mobile or ID number (not your own).", true);
  } finally {
    button.disabled = false;
  }
}

// Both lists: invitations for me (accept / decline) and the ones I sent (their status; the name once accepted).
export async function renderInvitations() {
  let r;
  try { r = await ui.api("GET", "/issuer/proxy-invitations"); } catch { return ui.say(OFFLINE, true); }
  if (r.status === 401) return ui.signIn("family");
  if (!r.ok) return ui.say("查询失败。 / The lookup failed.", true);
  const { received, sent } = r.data;
  $("invites-box").hidden = !received.length;
  $("invites").replaceChildren(...received.map(receivedItem));
  const shown = sent.filter((s) => s.status !== "accepted");  // accepted ones are in the list of proxies below
  $("sent-box").hidden = !shown.length;
  $("sent-invites").replaceChildren(...shown.map(sentItem));
}

function receivedItem(invitation) {
  const [zh, en] = invitation.allows.split(" / ");
  const path = "/issuer/proxy-invitations/" + invitation.id;
  return ui.el("li", { class: "record", "data-invitation": invitation.id },
    ui.el("strong", {}, ...words(invitation.inviter + " 邀请您代为出示其健康码", invitation.inviter + " asks you to show their health code")),
    ui.el("span", { class: "line" }, zh, " ", ui.el("span", { class: "en", lang: "en" }, en || "")),
    ui.el("span", { class: "line" }, ...words("有效至 " + day(invitation.expires_at), "open until " + day(invitation.expires_at))),
    twoTaps("primary", "accepted", ["接受", "Accept"], ["再点一次，接受", "Tap again to accept"], async () => {
      const r = await ui.api("PATCH", path, { status: "accepted" });
      const name = r.ok ? r.data.proxy.relative_name : "";
      return [r, `已接受：您可以代 ${name} 出示健康码。 / Accepted: you can now show ${name}'s health code.`];
    }),
    twoTaps("danger", "declined", ["拒绝", "Decline"], ["再点一次，拒绝", "Tap again to decline"], async () =>
      [await ui.api("PATCH", path, { status: "declined" }), "已拒绝邀请。 / Invitation declined."]));
}

function sentItem(invitation) {
  const [zh, en] = SENT_WORDS[invitation.status] || [invitation.status, invitation.status];
  return ui.el("li", { class: "record", "data-sent": invitation.id, "data-status": invitation.status },
    ui.el("strong", {}, invitation.to),
    ui.el("span", { class: "line" }, ...words(zh + " · " + day(invitation.created_at), en + ", sent " + day(invitation.created_at))),
    invitation.status === "pending" ? twoTaps("danger", "withdraw", ["撤回邀请", "Withdraw"], ["再点一次，撤回", "Tap again to withdraw"],
      async () => [await ui.api("DELETE", "/issuer/proxy-invitations/" + invitation.id), "已撤回邀请。 / Invitation withdrawn."])
      : null);
}

// The first tap asks, the second acts (no pop-up); not confirmed within 8 s: back to the first state.
// ``act`` returns [response, message when it worked].
function twoTaps(style, name, first, second, act) {
  const button = ui.el("button", { type: "button", class: style, "data-answer": name }, ...words(...first));
  button.addEventListener("click", async () => {
    if (button.dataset.armed !== "1") {
      ui.say("");
      button.dataset.armed = "1";
      button.replaceChildren(...words(...second));
      setTimeout(() => {
        if (button.isConnected && !button.disabled) {
          delete button.dataset.armed;
          button.replaceChildren(...words(...first));
        }
      }, 8000);
      return;
    }
    button.disabled = true;
    const [r, done] = await act().catch(() => [null, ""]);
    await ui.refresh();  // the held list (a new relative's code to show) and these lists
    if (!r) return ui.say(OFFLINE, true);
    if (r.status === 401) return ui.signIn("family");
    if (r.ok) return ui.say(done);
    ui.say(r.status === 410 ? "邀请已过期，请对方重新邀请。 / The invitation has expired; ask them to invite you again."
      : "邀请已失效。 / The invitation is no longer open.", true);
  });
  return button;
}
