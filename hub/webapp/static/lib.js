// Shared by every page: translations, the API client (session cookie + CSRF header), the WebSocket.
const LANGS = ["zh-CN", "en"];
let strings = {};
export let lang = LANGS.includes(localStorage.getItem("dhome.lang")) ? localStorage.getItem("dhome.lang") : "zh-CN";

export async function loadLang() {
  const res = await fetch(`/static/i18n/${lang}.json`);
  strings = await res.json();
  document.documentElement.lang = lang;
  for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
  for (const el of document.querySelectorAll("[data-t-label]")) el.setAttribute("aria-label", t(el.dataset.tLabel));
  const sw = document.getElementById("lang");
  if (sw) {
    const other = lang === "zh-CN" ? "en" : "zh-CN";
    sw.textContent = other === "en" ? "English" : "简体中文";
    sw.lang = other;
    sw.onclick = () => { localStorage.setItem("dhome.lang", other); location.reload(); };
  }
}

// t("alerts.ack") or t("kind.fall", "fall"): a missing string shows the key's fallback, never blank
export function t(key, fallback) {
  const v = strings[key];
  return v === undefined ? (fallback ?? key) : v;
}

// "smoke — Kitchen" -> "Smoke — Kitchen" (Chinese has no case: unchanged)
export function sentenceCase(text) { return text ? text[0].toUpperCase() + text.slice(1) : text; }

export function fmt(key, vars) {
  return t(key).replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ""));
}

// dates in the app's language, always on a 24-hour clock ("3月5日 14:02" / "5 Mar, 14:02")
export function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  const sameYear = d.getFullYear() === new Date().getFullYear();
  return d.toLocaleString(lang, { year: sameYear ? undefined : "numeric", month: "short",
    day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
}

export function clock(iso) {
  return new Date(iso).toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
}

// "3 分钟前" / "3 minutes ago"
export function ago(iso) {
  const s = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
  const rtf = new Intl.RelativeTimeFormat(lang, { numeric: "auto" });
  if (s < 60) return rtf.format(0, "second");
  if (s < 3600) return rtf.format(-Math.floor(s / 60), "minute");
  if (s < 86400) return rtf.format(-Math.floor(s / 3600), "hour");
  return rtf.format(-Math.floor(s / 86400), "day");
}

// h("p", {class: "x"}, "text", child): a tiny element builder; text is never parsed as HTML
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

let csrf = "";
export let session = null;

export async function loadSession() {
  const res = await fetch("/session", { credentials: "same-origin" });
  if (!res.ok) { location.assign("/signin?next=" + encodeURIComponent(location.pathname)); throw new Error("signed out"); }
  session = await res.json();
  csrf = session.csrf;
  return session;
}

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

// Every call goes to the public API; state-changing ones carry the CSRF token.
export async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRF-Token"] = csrf;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch("/api/v1" + path, {
    method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 401) { location.assign("/signin?next=" + encodeURIComponent(location.pathname)); }
  if (res.status === 204) return null;
  const data = res.headers.get("Content-Type")?.includes("json") ? await res.json() : null;
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

// One WebSocket for the whole app; listeners get every pushed message. Reconnects with `since`.
const listeners = new Set();
let lastSeq = 0;
export function onMessage(fn) { listeners.add(fn); return () => listeners.delete(fn); }
const reconnected = new Set();
export function onReconnect(fn) { reconnected.add(fn); return () => reconnected.delete(fn); }

export function connectWs() {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${proto}//${location.host}/api/v1/ws`);
  ws.onmessage = (ev) => {
    const msg = JSON.parse(ev.data);
    if (msg.type === "auth_ok") {
      // batched, and only the latest value of each property every 250 ms: a screen shows the
      // present, and a busy hub must not drown a phone; alerts and availability are never merged
      const sub = { type: "subscribe", id: "app", filter: {}, coalesce_ms: 250 };
      if (lastSeq) sub.since = lastSeq;
      ws.send(JSON.stringify(sub));
    } else if (msg.type === "subscribed") {
      if (document.body.dataset.live === "0") for (const fn of reconnected) fn(); // back after a gap
      document.body.dataset.live = "1";
      document.getElementById("link-down")?.setAttribute("hidden", "");
    } else if (msg.type === "events" || msg.type === "event") {
      for (const m of msg.type === "events" ? msg.messages : [msg.message]) {
        if (m.seq) lastSeq = Math.max(lastSeq, m.seq);
        for (const fn of listeners) fn(m);
      }
    }
  };
  ws.onclose = () => {
    // alarms arrive over this connection: say so while it is down
    if (document.body.dataset.live === "1") document.getElementById("link-down")?.removeAttribute("hidden");
    document.body.dataset.live = "0";
    setTimeout(connectWs, 3000);
  };
}
