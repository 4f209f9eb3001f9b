// Live page of the community platform: alerts arrive over Server-Sent Events (no reload),
// staff acknowledge them, the hub confirms. Everything from a hub is shown as text only.
"use strict";

const TEXT = {
  zh: {
    staff: "值班人员", switch: "English", offline: "未连接", online: "实时", alerts: "待处理告警",
    time: "时间", home: "住户", room: "位置", kind: "类型", severity: "级别", summary: "说明",
    state: "状态", action: "处理", none: "暂无待处理告警", homes: "住户", open: "待处理",
    last: "最近消息", ack: "确认处理", acked: "已确认", failed: "确认失败：",
    escalated: "已升级 ", repeated: "次", drill: "演练",
  },
  en: {
    staff: "On duty", switch: "中文", offline: "offline", online: "live", alerts: "Open alerts",
    time: "Time", home: "Home", room: "Where", kind: "Kind", severity: "Severity", summary: "Summary",
    state: "State", action: "Action", none: "No open alerts", homes: "Homes", open: "Open",
    last: "Last message", ack: "Acknowledge", acked: "Acknowledged", failed: "Acknowledgement failed: ",
    escalated: "escalated ", repeated: "×", drill: "Drill",
  },
};
const KIND = {
  smoke: ["烟雾报警", "Smoke alarm"], heat: ["高温报警", "Heat alarm"], co: ["一氧化碳报警", "Carbon monoxide"],
  gas_leak: ["燃气泄漏", "Gas leak"], water_leak: ["漏水", "Water leak"], sos: ["紧急呼叫", "Emergency call"],
  fall: ["跌倒", "Fall"], inactivity: ["长时间无活动", "No activity"], night_activity: ["夜间异常活动", "Night activity"],
  door_open: ["门未关", "Door left open"], device_offline: ["安全设备离线", "Safety device offline"],
  low_battery: ["安全设备电量低", "Low battery"], tamper: ["设备被拆动", "Tampering"],
};
const SEVERITY = {
  Extreme: ["特别严重", "Extreme"], Severe: ["严重", "Severe"], Moderate: ["较重", "Moderate"],
  Minor: ["一般", "Minor"], Unknown: ["未知", "Unknown"],
};
const STATE = { active: ["待处理", "Active"], acknowledged: ["已确认", "Acknowledged"], cleared: ["已解除", "Cleared"] };
const ROOM = {
  kitchen: "厨房", living_room: "客厅", bedroom: "卧室", bathroom: "卫生间", hallway: "门厅", hall: "门厅",
  entrance: "玄关", balcony: "阳台", study: "书房", dining_room: "餐厅",
};

let lang = localStorage.getItem("lang") || "zh";
const alerts = new Map();
const t = (key) => TEXT[lang][key] ?? key;
const pick = (table, key) => (table[key] ? table[key][lang === "zh" ? 0 : 1] : key);

function el(tag, text, attrs = {}) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return d.toLocaleString(lang === "zh" ? "zh-CN" : "en-GB", { hour12: false });
}

function renderAlerts() {
  const body = document.querySelector("#alerts tbody");
  body.replaceChildren();
  const open = [...alerts.values()]
    .filter((a) => a.state !== "cleared")
    .sort((a, b) => (b.last_seen || "").localeCompare(a.last_seen || ""));
  for (const a of open) {
    const row = el("tr", null, {
      "data-alert-id": a.id, "data-home": a.home, class: `sev-${a.severity} state-${a.state}`,
    });
    row.append(el("td", when(a.last_seen)), el("td", a.home));
    row.append(el("td", a.room ? (lang === "zh" ? ROOM[a.room] || a.room : a.room.replace(/_/g, " ")) : ""));
    // a drill (DHI 1.1 "drill": true) is an exercise: said in the kind cell, where staff look first
    row.append(el("td", (a.drill ? `[${t("drill")}] ` : "") + pick(KIND, a.kind), { "data-field": "kind" }));
    row.append(el("td", pick(SEVERITY, a.severity)));
    let summary = (lang === "zh" ? a.summary_zh : a.summary) || a.summary || a.summary_zh || "";
    if (a.count > 1) summary += ` (${a.count}${t("repeated")})`;
    if (a.escalation > 0) summary += ` · ${t("escalated")}${a.escalation}`;
    row.append(el("td", summary));
    row.append(el("td", pick(STATE, a.state) + (a.staff ? ` · ${a.staff}` : ""), { "data-field": "state" }));
    const cell = el("td");
    if (a.state === "active") {
      const button = el("button", t("ack"), { type: "button", "data-action": "ack" });
      button.addEventListener("click", () => acknowledge(a, button));
      cell.append(button);
    } else {
      cell.textContent = t("acked");
    }
    row.append(cell);
    body.append(row);
  }
  document.getElementById("empty").hidden = open.length > 0;
}

async function renderHomes() {
  const res = await fetch("/api/homes");
  const rows = (await res.json()).items.map((h) => {
    const row = el("tr", null, { "data-home": h.home });
    row.append(el("td", h.home), el("td", h.open_alerts), el("td", when(h.last_message)));
    return row;
  });
  // replaced in one go after the fetch: overlapping refreshes never interleave rows
  document.querySelector("#homes tbody").replaceChildren(...rows);
}

function applyLanguage() {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  for (const node of document.querySelectorAll("[data-t]")) node.textContent = t(node.dataset.t);
  const live = document.getElementById("live");
  live.textContent = live.classList.contains("on") ? t("online") : t("offline");
  renderAlerts();
  renderHomes();
}

async function acknowledge(alert, button) {
  const status = document.getElementById("status");
  const staff = document.getElementById("staff").value.trim() || "staff";
  localStorage.setItem("staff", staff);
  button.disabled = true;
  status.textContent = "";
  const url = `/api/alerts/${encodeURIComponent(alert.home)}/${encodeURIComponent(alert.id)}/ack`;
  const res = await fetch(url, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ by: staff }),
  });
  const data = await res.json();
  if (!res.ok) {
    status.textContent = t("failed") + (data.detail || res.status);
    button.disabled = false;
    return;
  }
  upsert(data);
}

function upsert(a) {
  alerts.set(`${a.home}/${a.id}`, a);
  renderAlerts();
  renderHomes();
}

async function start() {
  if (window.PLATFORM && window.PLATFORM.title) document.getElementById("title").textContent = window.PLATFORM.title;
  document.getElementById("staff").value = localStorage.getItem("staff") || "";
  document.getElementById("lang").addEventListener("click", () => {
    lang = lang === "zh" ? "en" : "zh";
    localStorage.setItem("lang", lang);
    applyLanguage();
  });
  applyLanguage();
  // subscribe first, then load: nothing that arrives in between is missed (and after a
  // reconnect the list is loaded again)
  const source = new EventSource("/events");
  const live = document.getElementById("live");
  source.addEventListener("open", async () => {
    const res = await fetch("/api/alerts?open=1");
    for (const a of (await res.json()).items) alerts.set(`${a.home}/${a.id}`, a);
    renderAlerts();
    renderHomes();
    live.className = "live on";
    live.textContent = t("online");
  });
  source.addEventListener("error", () => { live.className = "live off"; live.textContent = t("offline"); });
  source.addEventListener("alert", (e) => upsert(JSON.parse(e.data)));
}

start();
