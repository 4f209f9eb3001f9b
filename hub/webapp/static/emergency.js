// The emergency state that follows the resident on every page: one banner, the nav badge, the
// flashing title, the alarm tone and vibration, a system notification. Fed by the app's one
// WebSocket (lib.js); every alert message makes it re-read the open alerts from the API.
import { ago, api, clock, fmt, h, lang, onMessage, onReconnect, sentenceCase, t, when } from "/static/lib.js";
import { actor, capDef, roomName, word } from "/static/labels.js";

// What each alert kind is comes from the hub (GET /alert-kinds, spec/interface/alerts.yaml): its
// class (safety and care take over the screen; notices stay quiet on the Alerts page), its name,
// advice and the public numbers that fit it. A kind the app has never heard of still shows.
let kinds = new Map();
let numbers = new Map();
export async function loadKinds() {
  const doc = await api("GET", "/alert-kinds");
  kinds = new Map(doc.kinds.map((k) => [k.id, k]));
  numbers = new Map(doc.numbers.map((n) => [n.number, n]));
}
export function kindIds(...classes) { return [...kinds.values()].filter((k) => classes.includes(k.class)).map((k) => k.id); }
export function kindClass(kind) { return kinds.get(kind)?.class || "notice"; }
export function kindName(kind) { return word(kinds.get(kind)?.label, t("kind.other")); }
export function advice(kind) { return (kinds.get(kind)?.advice?.[lang] || kinds.get(kind)?.advice?.en || []).join(lang === "zh-CN" ? "" : " "); }

let contacts = [];
export function setContacts(list) { contacts = list || []; }

// large tel: buttons: the public numbers of the kind, then the resident's own contacts
export function callButtons(kind) {
  const publicNumbers = (kinds.get(kind)?.call || []).map((n) =>
    h("a", { class: "call", href: "tel:" + n }, fmt("call.public", { what: word(numbers.get(n)?.label, ""), n })));
  const own = contacts.map((c) => h("a", { class: "call own", href: "tel:" + c.phone.replace(/[ -]/g, "") },
    fmt("call.contact", { name: c.name })));
  return h("div", { class: "calls" }, publicNumbers, own);
}

// ------------------------------------------------------------------ the alarm tone
let audio = null;
let toneTimer = null;
let silenced = new Set(); // alert ids whose tone this resident silenced (the banner stays)
export const soundWanted = () => localStorage.getItem("dhome.sound") === "on";

function beep() {
  if (!audio) return;
  const now = audio.currentTime;
  for (const [at, freq] of [[0, 880], [0.25, 660], [0.5, 880], [0.75, 660]]) {
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = freq;
    osc.type = "square";
    gain.gain.setValueAtTime(0.2, now + at);
    gain.gain.setValueAtTime(0, now + at + 0.22);
    osc.connect(gain).connect(audio.destination);
    osc.start(now + at);
    osc.stop(now + at + 0.23);
  }
}

// only a tap may start sound: called from the opt-in button and from any later tap
function unlockAudio() {
  if (!soundWanted()) return;
  audio ??= new AudioContext();
  if (audio.state === "suspended") audio.resume();
}

function enableSound() {
  localStorage.setItem("dhome.sound", "on");
  unlockAudio();
  update();
  // the browser's own question comes after ours; the banner never waits for its answer
  if ("Notification" in window && window.isSecureContext && Notification.permission === "default") {
    Notification.requestPermission().catch(() => { /* the banner is enough */ });
  }
}

function setTone(on) {
  if (on && !toneTimer) {
    beep();
    toneTimer = setInterval(() => { beep(); navigator.vibrate?.([400, 200, 400]); }, 2000);
    navigator.vibrate?.([400, 200, 400]);
  } else if (!on && toneTimer) {
    clearInterval(toneTimer);
    toneTimer = null;
    navigator.vibrate?.(0);
  }
}

// ------------------------------------------------------------------ title flash
let titleTimer = null;
let pageTitle = document.title;
export function setPageTitle(text) { pageTitle = `${text} · dhome`; if (!titleTimer) document.title = pageTitle; }
function flashTitle(text) {
  clearInterval(titleTimer);
  titleTimer = null;
  document.title = pageTitle;
  if (!text) return;
  let on = false;
  titleTimer = setInterval(() => { on = !on; document.title = on ? text : pageTitle; }, 1000);
}

// ------------------------------------------------------------------ state and rendering
let open = []; // alerts the banner shows: safety/care, not yet cleared
let notified = new Set();
let onAck = null;
export function whenAcknowledged(fn) { onAck = fn; }

const SEVERITY = ["extreme", "severe", "moderate", "minor", "unknown"];

function bannerItem(a) {
  const handled = a.state === "acknowledged";
  const where = a.room ? roomName(a.room) : t("home.whole");
  return h("section", { class: "emergency-item" + (handled ? " handled" : ""), "data-alert": a.id, "data-state": a.state },
    h("p", { class: "headline" },
      h("span", { class: "sev" }, t("severity." + String(a.severity).toLowerCase(), t("severity.unknown"))), " ",
      sentenceCase(fmt("banner.what", { what: kindName(a.kind), where })),
      a.drill ? h("span", { class: "badge drill", "data-drill": "" }, t("alerts.drill")) : null),
    h("p", {}, fmt("banner.since", { time: clock(a.first_seen), ago: ago(a.first_seen) })),
    a.quiet ? h("p", { class: "handled-note quiet-note" }, t("banner.quiet")) : null,
    handled ? h("p", { class: "handled-note" }, t("banner.handled"), " ",
      fmt("banner.handledby", { who: actor(a.acknowledged_by), at: when(a.acknowledged_at) })) : null,
    advice(a.kind) ? h("p", { class: "advice" }, advice(a.kind)) : null,
    callButtons(a.kind),
    h("div", { class: "row" },
      handled ? null : h("button", { type: "button", class: "primary ack", onclick: async (ev) => {
        ev.target.disabled = true;
        try { await api("POST", `/alerts/${encodeURIComponent(a.id)}/ack`); await refresh(); onAck?.(); }
        catch { ev.target.disabled = false; }
      } }, t("alerts.ack")),
      h("a", { class: "button", href: "/alerts" }, t("banner.details"))));
}

function soundControls(anyRinging) {
  if (!soundWanted()) {
    return h("div", { class: "sound off row" }, h("p", {}, t("sound.isoff")),
      h("button", { type: "button", class: "primary", id: "sound-on", onclick: enableSound }, t("sound.enable")));
  }
  return h("div", { class: "sound row" },
    anyRinging ? h("button", { type: "button", id: "silence", onclick: () => {
      for (const a of open) silenced.add(a.id);
      update();
    } }, t("sound.silence")) : h("p", {}, t("sound.silenced")));
}

let lastSig = "";
function update() {
  const el = document.getElementById("emergency");
  const badge = document.getElementById("nav-badge");
  const ringing = open.filter((a) => a.state === "active" && !silenced.has(a.id));
  if (!open.length) {
    lastSig = "";
    el.hidden = true;
    el.replaceChildren();
    badge.hidden = true;
    document.body.classList.remove("in-emergency");
    flashTitle(null);
    setTone(false);
  } else {
    el.hidden = false;
    // announced when something changed, not at each minute's "3 分钟前" refresh
    const sig = open.map((a) => a.id + a.state).join();
    const news = sig !== lastSig;
    lastSig = sig;
    el.replaceChildren(
      h("div", { role: news ? "alert" : null },
        h("h2", { class: "emergency-title" }, open.some((a) => a.state === "active") ? t("banner.title") : t("banner.titlehandled"))),
      ...open.map(bannerItem), soundControls(ringing.length > 0));
    badge.hidden = false;
    badge.textContent = String(open.length);
    badge.setAttribute("aria-label", fmt("nav.badge", { n: open.length }));
    document.body.classList.add("in-emergency");
    const first = open[0];
    flashTitle("⚠ " + sentenceCase(fmt("banner.what", { what: kindName(first.kind), where: first.room ? roomName(first.room) : t("home.whole") })));
    setTone(ringing.length > 0 && soundWanted());
  }
  document.body.dataset.emergency = open.length ? open.map((a) => a.state).join(" ") : "none";
  for (const a of open) {
    if (notified.has(a.id) || a.state !== "active") continue;
    notified.add(a.id);
    if ("Notification" in window && Notification.permission === "granted") {
      new Notification(t("banner.title"), { body: sentenceCase(fmt("banner.what", { what: kindName(a.kind), where: roomName(a.room) })), tag: a.id, lang });
    }
  }
}

// whether a device still reports its hazard (a safety capability's first property is true)
async function stillSounding(deviceIds) {
  for (const id of deviceIds || []) {
    const state = await api("GET", `/devices/${encodeURIComponent(id)}/state`).catch(() => null);
    for (const caps of Object.values(state?.components || {})) {
      for (const [cap, props] of Object.entries(caps)) {
        const first = capDef(cap)?.category === "safety" ? capDef(cap).properties?.[0]?.name : null;
        if (first && props[first]?.value === true) return true;
      }
    }
  }
  return false;
}

export async function refresh() {
  const list = await api("GET", "/alerts?limit=200");
  open = list.items.filter((a) => a.state !== "cleared" && kindClass(a.kind) !== "notice")
    .sort((a, b) => SEVERITY.indexOf(String(a.severity).toLowerCase()) - SEVERITY.indexOf(String(b.severity).toLowerCase()) || String(b.last_seen).localeCompare(String(a.last_seen)));
  // a latched alarm whose device went quiet: still shown, and said so, until someone confirms
  for (const a of open) if (a.state === "active" && kindClass(a.kind) === "safety") a.quiet = !(await stillSounding(a.devices));
  update();
}

let pending = null;
export function start() {
  document.addEventListener("pointerdown", unlockAudio, { capture: true });
  document.addEventListener("keydown", unlockAudio, { capture: true });
  onMessage((m) => {
    if (!m.type.startsWith("org.dhi.v1.alert.")) return;
    clearTimeout(pending); // a burst of updates is one re-read
    pending = setTimeout(() => refresh().catch(() => {}), 100);
  });
  setInterval(() => { if (open.length) update(); }, 60_000); // "3 分钟前" moves on
  onReconnect(() => refresh().catch(() => {})); // whatever happened while the connection was down
  return refresh();
}
