// The resident app: a router over five pages, each built from the public API. The emergency
// banner (emergency.js) lives outside the pages and follows the resident across all of them.
import { ago, api, ApiError, connectWs, fmt, h, lang, loadLang, loadSession, onMessage, sentenceCase, t, when } from "/static/lib.js";
import { actor, capDef, capLabel, deviceName, propDef, propLabel, roomName, setCatalog, setRoomNames, show, unit, word } from "/static/labels.js";
import * as emergency from "/static/emergency.js";
import { lineChart } from "/static/chart.js";
import { enrolForm } from "/static/enrol.js";

// capabilities that keep someone safe: category safety in the catalog
const isSafetyCap = (id) => capDef(id)?.category === "safety";
// the kinds a resident shares one by one: every safety and care kind the hub knows
const sharedKinds = () => emergency.kindIds("safety", "care");
const main = document.getElementById("main");
const problem = document.getElementById("problem");
let cleanup = [];

// an API error in words: what the hub refused, by status, never its English detail
function errorText(err) {
  if (err instanceof ApiError) return t("error." + err.status, t("error.other"));
  return t("error.network");
}

function showError(err) {
  problem.hidden = false;
  problem.textContent = errorText(err);
}

function title(text) {
  emergency.setPageTitle(text);
  return h("h1", {}, text);
}

function flags(available, state) {
  const out = [];
  if (!available) out.push(h("span", { class: "badge warn" }, t("device.offline")));
  for (const comp of Object.values(state?.components || {})) {
    const bat = comp["dhi.battery"];
    if (bat && (bat.low?.value === true || (typeof bat.percentage?.value === "number" && bat.percentage.value < 20))) {
      out.push(h("span", { class: "badge warn" }, t("device.lowbattery")));
    }
  }
  return out;
}

function propKey(dev, comp, cap, prop) { return `${dev}|${comp}|${cap}|${prop}`; }

function stateList(devId, state) {
  const dl = h("dl", { class: "props" });
  for (const [comp, caps] of Object.entries(state?.components || {})) {
    for (const [cap, props] of Object.entries(caps)) {
      for (const [prop, ps] of Object.entries(props)) {
        dl.append(h("dt", {}, propLabel(cap, prop)), h("dd", { "data-prop": propKey(devId, comp, cap, prop) }, show(ps.value, cap, prop)));
      }
    }
  }
  return dl;
}

function liveState() {
  cleanup.push(onMessage((m) => {
    if (m.type !== "org.dhi.v1.state.changed") return;
    const d = m.data;
    for (const el of main.querySelectorAll(`[data-prop="${CSS.escape(propKey(d.device, d.component, d.capability, d.property))}"]`)) {
      if (el.tagName === "INPUT") el.value = d.value; else el.textContent = show(d.value, d.capability, d.property);
    }
    for (const b of main.querySelectorAll(`button[data-control="${CSS.escape(propKey(d.device, d.component, d.capability, d.property))}"]`)) {
      setToggle(b, d.value === true);
    }
  }));
}

async function allDevices() {
  const out = [];
  let next = null;
  do {
    const page = await api("GET", "/devices?limit=500" + (next ? `&cursor=${encodeURIComponent(next)}` : ""));
    out.push(...page.items);
    next = page.next;
  } while (next);
  return out;
}

function statePath(devId, comp, cap, prop) {
  return `/devices/${encodeURIComponent(devId)}/state/${encodeURIComponent(comp)}/${encodeURIComponent(cap)}/${encodeURIComponent(prop)}`;
}

// a toggle says what is true now ("开着") and is pressed while on
function setToggle(button, on) {
  button.setAttribute("aria-pressed", String(on));
  button.querySelector(".now").textContent = t(on ? "toggle.on" : "toggle.off");
}

function toggle(devId, comp, cap, prop, current, name, status) {
  const b = h("button", { type: "button", class: "toggle", "data-control": propKey(devId, comp, cap, prop) },
    h("span", { class: "what" }, name), " ", h("span", { class: "now" }));
  setToggle(b, current === true);
  b.addEventListener("click", async () => {
    const on = b.getAttribute("aria-pressed") !== "true";
    if (status) status.textContent = t("device.sending");
    try {
      await api("PUT", statePath(devId, comp, cap, prop), on);
      setToggle(b, on);
      if (status) status.textContent = t("device.done");
    } catch (err) { if (status) status.textContent = fmt("device.failed", { detail: errorText(err) }); else showError(err); }
  });
  return b;
}

// ---------------------------------------------------------------- Home
// the values a tile shows: the first properties of its first capabilities, safety first
function keyValues(d, s) {
  const out = [];
  for (const comp of d.components) {
    const caps = [...comp.capabilities].sort((a, b) => Number(isSafetyCap(b.id)) - Number(isSafetyCap(a.id)));
    for (const cap of caps) {
      if (cap.id === "dhi.battery" || cap.id === "dhi.on_off") continue;
      const def = capDef(cap.id);
      const prop = (cap.properties && cap.properties[0]) || def?.properties?.[0]?.name;
      if (!prop) continue;
      const ps = s?.components?.[comp.id]?.[cap.id]?.[prop];
      if (ps) out.push([comp.id, cap.id, prop, ps.value]);
      if (out.length >= 1) return out;
    }
  }
  return out;
}

function inDanger(d, s, openAlerts) {
  if (openAlerts.some((a) => a.devices?.includes(d.id))) return true;
  for (const caps of Object.values(s?.components || {})) {
    for (const [cap, props] of Object.entries(caps)) {
      if (isSafetyCap(cap) && Object.values(props).some((p) => p.value === true || p.value === "critical" || p.value === "fallen")) {
        const first = capDef(cap)?.properties?.[0]?.name;
        if (props[first]?.value === true || props.severity?.value === "critical" || props[first]?.value === "fallen") return true;
      }
    }
  }
  return false;
}

function tile(e, s, openAlerts) {
  const d = e.device;
  const danger = inDanger(d, s, openAlerts);
  const safety = d.components.some((c) => c.capabilities.some((x) => isSafetyCap(x.id)));
  const onOff = d.components.flatMap((c) => c.capabilities.filter((x) => x.id === "dhi.on_off").map((x) => [c.id, x]))[0];
  const level = d.components.flatMap((c) => c.capabilities.filter((x) => x.id === "dhi.level").map((x) => [c.id, x]))[0];
  return h("section", { class: "tile" + (danger ? " danger" : "") + (safety ? " safety" : ""), "aria-label": deviceName(d), "data-device": d.id },
    h("a", { class: "tile-name", href: `/devices/${encodeURIComponent(d.id)}` }, deviceName(d, Boolean(d.room))),
    danger ? h("p", { class: "tile-danger" }, t("home.danger")) : null,
    h("div", { class: "tile-flags" }, flags(e.available, s)),
    onOff ? null : h("dl", { class: "tile-values" }, keyValues(d, s).flatMap(([comp, cap, prop, value]) => [
      h("dt", {}, propLabel(cap, prop)), h("dd", { "data-prop": propKey(d.id, comp, cap, prop) }, show(value, cap, prop))])),
    onOff ? toggle(d.id, onOff[0], "dhi.on_off", "on", s?.components?.[onOff[0]]?.["dhi.on_off"]?.on?.value, t("toggle.power")) : null,
    level ? levelSlider(d, level[0], s?.components?.[level[0]]?.["dhi.level"]?.level?.value) : null);
}

// brightness straight from the tile: sent when the finger lifts
function levelSlider(d, comp, current) {
  const name = fmt("home.levelof", { name: deviceName(d) });
  const input = h("input", { type: "range", class: "tile-level", min: 0, max: 100, step: 5, value: current ?? 0,
    "aria-label": name, "aria-valuetext": show(current ?? 0, "dhi.level", "level"),
    "data-prop": propKey(d.id, comp, "dhi.level", "level") });
  input.addEventListener("input", () => input.setAttribute("aria-valuetext", show(Number(input.value), "dhi.level", "level")));
  input.addEventListener("change", async () => {
    try { await api("PUT", statePath(d.id, comp, "dhi.level", "level"), Number(input.value)); } catch (err) { showError(err); }
  });
  return input;
}

// low battery, offline, door open: a quiet line under the status, never the alarm banner
function notices(alerts) {
  const quiet = alerts.filter((a) => a.state !== "cleared" && emergency.kindClass(a.kind) === "notice");
  if (!quiet.length) return h("p", { id: "notices", hidden: true });
  return h("p", { id: "notices", class: "notices" }, h("a", { href: "/alerts" },
    fmt("home.notices", { n: quiet.length, what: quiet.slice(0, 3).map((a) => fmt("alert.short", { what: emergency.kindName(a.kind), where: a.room ? roomName(a.room) : t("home.whole") })).join(t("list.sep")) })));
}

function statusLine(openAlerts) {
  if (!openAlerts.length) return h("p", { class: "status-line ok", id: "status-line" }, t("home.allgood"));
  const a = openAlerts[0];
  return h("p", { class: "status-line alarm", id: "status-line" },
    sentenceCase(fmt("home.alarm", { where: a.room ? roomName(a.room) : t("home.whole"), what: emergency.kindName(a.kind), ago: ago(a.first_seen) })));
}

async function homePage() {
  const [devices, alerts] = await Promise.all([allDevices(), api("GET", "/alerts?limit=200")]);
  const states = await Promise.all(devices.map((e) => api("GET", `/devices/${encodeURIComponent(e.device.id)}/state`)));
  const openAlerts = alerts.items.filter((a) => a.state !== "cleared" && emergency.kindClass(a.kind) !== "notice");
  const rooms = new Map();
  const noRoom = [];
  devices.forEach((e, i) => {
    const room = e.device.room;
    if (!room) { noRoom.push([e, states[i]]); return; }
    if (!rooms.has(room)) rooms.set(room, []);
    rooms.get(room).push([e, states[i]]);
  });
  const order = [...rooms.keys()].sort((a, b) => roomName(a).localeCompare(roomName(b), lang));
  const out = [title(t("nav.home")), statusLine(openAlerts), notices(alerts.items)];
  if (!devices.length) out.push(h("p", {}, t("home.empty")));
  for (const room of order) {
    // a device in danger leads its room
    const list = rooms.get(room).sort(([a, sa], [b, sb]) => Number(inDanger(b.device, sb, openAlerts)) - Number(inDanger(a.device, sa, openAlerts)) ||
      deviceName(a.device).localeCompare(deviceName(b.device), lang));
    out.push(h("section", { class: "room", "aria-label": roomName(room) }, h("h2", {}, roomName(room)),
      h("div", { class: "tiles" }, list.map(([e, s]) => tile(e, s, openAlerts)))));
  }
  if (noRoom.length) {
    out.push(h("details", { class: "room noroom" }, h("summary", {}, fmt("home.noroomcount", { n: noRoom.length })),
      h("div", { class: "tiles" }, noRoom.map(([e, s]) => tile(e, s, openAlerts)))));
  }
  main.replaceChildren(...out);
  liveState();
  // a tile turns red (and back) as its device's state and the open alerts change
  const byId = new Map(devices.map((e, i) => [e.device.id, [e.device, states[i]]]));
  let open = openAlerts;
  const mark = (id) => {
    const [d, s] = byId.get(id) || [];
    const el = d && main.querySelector(`section.tile[data-device="${CSS.escape(id)}"]`);
    if (!el) return;
    const danger = inDanger(d, s, open);
    el.classList.toggle("danger", danger);
    el.querySelector(".tile-danger")?.remove();
    if (danger) el.querySelector(".tile-name").after(h("p", { class: "tile-danger" }, t("home.danger")));
  };
  cleanup.push(onMessage(async (m) => {
    if (m.type === "org.dhi.v1.state.changed") {
      const d = m.data;
      const s = byId.get(d.device)?.[1];
      if (!s) return;
      ((s.components ??= {})[d.component] ??= {})[d.capability] ??= {};
      s.components[d.component][d.capability][d.property] = { value: d.value };
      mark(d.device);
      return;
    }
    if (!m.type.startsWith("org.dhi.v1.alert.")) return;
    const fresh = await api("GET", "/alerts?limit=200");
    open = fresh.items.filter((a) => a.state !== "cleared" && emergency.kindClass(a.kind) !== "notice");
    document.getElementById("status-line")?.replaceWith(statusLine(open));
    document.getElementById("notices")?.replaceWith(notices(fresh.items));
    for (const id of byId.keys()) mark(id);
  }));
}

// ---------------------------------------------------------------- Device
// configuration values (limits, offsets, thresholds) are not charted: only what is measured
const NOT_MEASURED = /(^|_)(min|max|minimum|maximum|threshold|offset|step|limit|default|startup)(_|$)/;

function control(devId, comp, cap, prop, def, current) {
  const path = statePath(devId, comp, cap, prop);
  const status = h("p", { role: "status", class: "muted" });
  const send = async (value) => {
    status.textContent = t("device.sending");
    try {
      await api("PUT", path, value);
      status.textContent = t("device.done");
      status.className = "muted";
    } catch (err) {
      // a refused value is explained with the property's own range, in words and units
      const range = err instanceof ApiError && err.status === 422 && def.minimum != null && def.maximum != null;
      status.textContent = range ? fmt("device.range", { name: propLabel(cap, prop), min: show(def.minimum, cap, prop), max: show(def.maximum, cap, prop) })
        : fmt("device.failed", { detail: errorText(err) });
      status.className = "error";
    }
  };
  const name = propLabel(cap, prop);
  if (def.type === "boolean") return h("div", { class: "control" }, toggle(devId, comp, cap, prop, current, name, status), status);
  const id = `c-${comp}-${cap}-${prop}`.replace(/[^a-zA-Z0-9_-]/g, "_");
  const u = unit(def.unit);
  if (def.enum) {
    const sel = h("select", { id }, def.enum.map((v) => h("option", { value: v, selected: v === current }, show(v, cap, prop))));
    sel.addEventListener("change", () => send(sel.value));
    return h("div", { class: "control" }, h("label", { for: id }, name), sel, status);
  }
  const numeric = def.type === "number" || def.type === "integer";
  if (numeric && /setpoint|target/.test(prop)) {
    // a stepper: one tap is one step, the value is read aloud as it changes
    const step = def.step ?? 0.5;
    let value = typeof current === "number" ? current : (def.minimum ?? 20);
    const out = h("output", { id, "aria-live": "polite" }, show(value, cap, prop));
    const move = (dir) => {
      value = Math.min(def.maximum ?? Infinity, Math.max(def.minimum ?? -Infinity, Math.round((value + dir * step) * 100) / 100));
      out.textContent = show(value, cap, prop);
      send(value);
    };
    return h("div", { class: "control" }, h("p", { class: "label", id: id + "-l" }, name),
      h("div", { class: "row stepper", role: "group", "aria-labelledby": id + "-l" },
        h("button", { type: "button", "aria-label": fmt("control.lower", { name }), onclick: () => move(-1) }, "−"), out,
        h("button", { type: "button", "aria-label": fmt("control.raise", { name }), onclick: () => move(1) }, "+")), status);
  }
  if (numeric && def.minimum !== undefined && def.maximum !== undefined && def.minimum !== null && def.maximum !== null) {
    const out = h("output", { for: id }, show(current ?? def.minimum, cap, prop));
    const input = h("input", { id, type: "range", min: def.minimum, max: def.maximum, step: def.step ?? 1, value: current ?? def.minimum,
      "aria-valuetext": show(current ?? def.minimum, cap, prop) });
    input.addEventListener("input", () => { out.textContent = show(Number(input.value), cap, prop); input.setAttribute("aria-valuetext", out.textContent); });
    input.addEventListener("change", () => send(Number(input.value)));
    return h("div", { class: "control" }, h("label", { for: id }, name, u ? ` (${u})` : ""), input, out, status);
  }
  const input = h("input", { id, type: numeric ? "number" : "text", value: current ?? "", min: def.minimum, max: def.maximum, step: def.step ?? "any" });
  return h("div", { class: "control" }, h("label", { for: id }, name, u ? ` (${u})` : ""), input,
    h("button", { type: "button", onclick: () => send(numeric ? Number(input.value) : input.value) }, t("device.set")), status);
}

async function chartsOf(path, measured, days) {
  const to = new Date(), from = new Date(to.getTime() - days * 24 * 3600 * 1000);
  const out = [];
  for (const [comp, cap, prop, def] of measured) {
    const q = new URLSearchParams({ since: from.toISOString(), component: comp, capability: cap, property: prop, limit: "1000" });
    const hist = await api("GET", `${path}/history?${q}`);
    const pts = hist.items.filter((p) => typeof p.value === "number");
    const name = propLabel(cap, prop);
    out.push(h("h3", {}, name), pts.length
      ? lineChart(pts, { title: fmt(days === 1 ? "device.chart24" : "device.chart7", { name }), unit: unit(def.unit), from, to })
      : h("p", { class: "muted" }, t("device.nohistory")));
  }
  return out;
}

async function devicePage(id) {
  const path = `/devices/${encodeURIComponent(id)}`;
  const [entry, state] = await Promise.all([api("GET", path), api("GET", path + "/state")]);
  const d = entry.device ?? entry;
  const out = [title(deviceName(d)), h("p", {}, flags(state.available, state),
    h("span", { class: "muted" }, fmt("device.room", { room: roomName(d.room) })),
    d.model ? h("span", { class: "muted" }, " · ", fmt("device.model", { model: d.model })) : null)];
  const controls = [];
  const measured = [];
  for (const comp of d.components) {
    for (const cap of comp.capabilities) {
      for (const prop of capDef(cap.id)?.properties || []) {
        if (cap.properties && !cap.properties.includes(prop.name)) continue;
        const current = state.components?.[comp.id]?.[cap.id]?.[prop.name]?.value;
        const writable = (prop.access || []).includes("write");
        if (writable) controls.push(control(id, comp.id, cap.id, prop.name, prop, current));
        else if ((prop.type === "number" || prop.type === "integer") && !NOT_MEASURED.test(prop.name)) measured.push([comp.id, cap.id, prop.name, prop]);
      }
    }
  }
  if (controls.length) out.push(h("h2", {}, t("device.controls")), h("div", { class: "card controls" }, controls));
  out.push(h("h2", {}, t("device.state")), h("div", { class: "card" }, stateList(id, state)));
  if (measured.length) {
    const charts = h("div", { id: "charts" });
    const range = h("div", { class: "row", role: "group", "aria-label": t("device.range") });
    const pick = async (days) => {
      for (const b of range.children) b.setAttribute("aria-pressed", String(Number(b.dataset.days) === days));
      charts.replaceChildren(...await chartsOf(path, measured.slice(0, 4), days));
    };
    range.append(...[1, 7].map((days) => h("button", { type: "button", "data-days": days, onclick: () => pick(days) }, t(days === 1 ? "device.24h" : "device.7d"))));
    out.push(h("h2", {}, t("device.history")), range, charts);
    main.replaceChildren(...out);
    await pick(1);
  } else {
    main.replaceChildren(...out);
  }
  liveState();
}

// ---------------------------------------------------------------- Alerts
// alert id -> [{platform, delivery}]: a delivery's message id is "<alert id>.<what>"
async function deliveriesByAlert(subs) {
  const out = new Map();
  for (const s of subs) {
    const list = await api("GET", `/subscriptions/${encodeURIComponent(s.id)}/deliveries?limit=200`);
    for (const d of list.items) {
      const alertId = String(d.message_id || "").replace(/\.[^.]*$/, "");
      if (!out.has(alertId)) out.set(alertId, []);
      out.get(alertId).push({ platform: s.receiver.name, d });
    }
  }
  return out;
}

function deliveryList(rows) {
  if (!rows?.length) return h("p", { class: "muted" }, t("alerts.nodeliveries"));
  const latest = new Map();
  for (const r of rows) {
    const seen = latest.get(r.platform);
    if (!seen || String(r.d.created) > String(seen.d.created)) latest.set(r.platform, r);
  }
  return h("ul", {}, [...latest.values()].map(({ platform, d }) => h("li", { "data-platform": platform, "data-state": d.state },
    fmt("alerts.told", { platform, status: t("delivery." + d.state, t("delivery.other")), at: when(d.delivered || d.created) }))));
}

function alertWhat(a) {
  return sentenceCase(fmt("banner.what", { what: emergency.kindName(a.kind), where: a.room ? roomName(a.room) : t("home.whole") }));
}

function alertCard(a, told) {
  const open = a.state !== "cleared";
  const cls = emergency.kindClass(a.kind);
  const badge = a.state === "active" ? ["danger", t("state.active")] : a.state === "acknowledged" ? ["warn", t("state.handled")] : ["ok", t("state.cleared")];
  return h("section", { class: "card alert" + (open && cls !== "notice" ? " alert-active" : ""), "data-alert": a.id, "aria-label": alertWhat(a) },
    h("h3", {}, alertWhat(a), " ", h("span", { class: "badge " + badge[0] }, badge[1]),
      a.drill ? h("span", { class: "badge drill", "data-drill": "" }, t("alerts.drill")) : null),
    h("p", {}, fmt("alerts.severity", { sev: t("severity." + String(a.severity).toLowerCase(), t("severity.unknown")) })),
    h("p", { class: "muted" }, fmt("alerts.seen", { first: when(a.first_seen), last: when(a.last_seen), count: a.count })),
    a.acknowledged_by ? h("p", {}, sentenceCase(fmt(open ? "alerts.acked" : "alerts.ackedpast", { by: actor(a.acknowledged_by), at: when(a.acknowledged_at) }))) : null,
    a.state === "cleared" && a.cleared_at ? h("p", { class: "muted" }, fmt("alerts.clearedat", { at: when(a.cleared_at) })) : null,
    open && emergency.advice(a.kind) ? h("p", { class: "advice" }, emergency.advice(a.kind)) : null,
    open && cls !== "notice" ? emergency.callButtons(a.kind) : null,
    h("div", { "data-deliveries": a.id }, h("strong", {}, t("alerts.notified")), deliveryList(told.get(a.id))),
    a.state === "active" ? h("button", { type: "button", class: "primary", onclick: async (ev) => {
      ev.target.disabled = true;
      try { await api("POST", `/alerts/${encodeURIComponent(a.id)}/ack`); await emergency.refresh(); await render(); } catch (err) { showError(err); }
    } }, t("alerts.ack")) : null);
}

async function alertsPage() {
  const [alerts, subs] = await Promise.all([api("GET", "/alerts?limit=200"), api("GET", "/subscriptions")]);
  const told = await deliveriesByAlert(subs.items);
  const active = alerts.items.filter((a) => a.state !== "cleared");
  const past = alerts.items.filter((a) => a.state === "cleared");
  main.replaceChildren(
    title(t("nav.alerts")),
    h("h2", {}, t("alerts.active")),
    h("div", { id: "active-alerts" }, active.length ? active.map((a) => alertCard(a, told)) : h("p", {}, t("alerts.none"))),
    h("h2", {}, t("alerts.past")),
    h("div", { id: "past-alerts" }, past.length ? past.map((a) => alertCard(a, told)) : h("p", { class: "muted" }, t("alerts.nonepast"))));
  cleanup.push(onMessage((m) => { if (m.type.startsWith("org.dhi.v1.alert.")) render(); }));
  // deliveries change without a bus message (the platform answers the outbox): refresh them quietly
  const timer = setInterval(async () => {
    try {
      const fresh = await deliveriesByAlert(subs.items);
      for (const el of main.querySelectorAll("[data-deliveries]")) {
        el.replaceChildren(h("strong", {}, t("alerts.notified")), deliveryList(fresh.get(el.dataset.deliveries)));
      }
    } catch { /* the next render shows the error */ }
  }, 3000);
  cleanup.push(() => clearInterval(timer));
}

// ---------------------------------------------------------------- Sharing
const list = (items) => items.join(t("list.sep"));

// what a platform may learn besides the kind, severity and times of an alert, in groups a
// resident understands; each group is the API's field names it stands for (subscription.fields)
const DETAILS = {
  room: ["room"], address: ["address", "location"], summary: ["summary", "summary_zh"],
  devices: ["devices"], handling: ["acknowledged_by", "acknowledged_at", "cleared_at"],
};
const detailsOf = (fields) => Object.keys(DETAILS).filter((g) => fields == null || DETAILS[g].every((f) => fields.includes(f)));

function day(iso) {
  return new Date(iso).toLocaleDateString(lang, { year: "numeric", month: "long", day: "numeric" });
}

function sentence(s) {
  const kinds = s.alert_kinds.length ? s.alert_kinds : sharedKinds();
  const shown = detailsOf(s.fields);
  const hidden = Object.keys(DETAILS).filter((g) => !shown.includes(g));
  const not = sharedKinds().filter((k) => !kinds.includes(k)).map(emergency.kindName);
  const parts = [fmt("sharing.receives", { name: s.receiver.name, what: list(kinds.map(emergency.kindName)) })];
  if (shown.length) parts.push(fmt("sharing.with", { what: list(shown.map((g) => t("detail." + g))) }));
  parts.push(fmt("sharing.not", { what: list([...not, ...hidden.map((g) => t("detail." + g)), t("sharing.camera")]) }));
  if (s.from_escalation > 0) parts.push(fmt("sharing.escalation", { level: s.from_escalation }));
  parts.push(s.consent?.expires ? fmt("sharing.until", { date: day(s.consent.expires) }) : t("sharing.noend"));
  return parts.join(t("sentence.sep"));
}

function kindsField(prefix, chosen) {
  return h("fieldset", {}, h("legend", {}, t("sharing.kinds")),
    sharedKinds().map((k) => h("label", { class: "check" },
      h("input", { type: "checkbox", name: prefix + "-kind", value: k, checked: chosen.includes(k) }), emergency.kindName(k))));
}

function detailsField(prefix, fields) {
  const on = detailsOf(fields);
  return h("fieldset", {}, h("legend", {}, t("sharing.details")),
    Object.keys(DETAILS).map((g) => h("label", { class: "check" },
      h("input", { type: "checkbox", name: prefix + "-detail", value: g, checked: on.includes(g) }), t("detail." + g))));
}

// the chosen groups as the API's field list: only what was ticked is ever sent
function fieldsFrom(form, prefix) {
  return checked(form, prefix + "-detail").flatMap((g) => DETAILS[g]);
}

function checked(form, name) { return [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((i) => i.value); }

// every save is the resident deciding again, now, from this signed-in device
function consentFrom(form, prefix) {
  const until = form.querySelector(`#${prefix}-until`).value;
  return {
    granted_by: "resident:" + String(window.dhomeSession?.name || "web").replace(/^session: /, ""),
    granted_at: new Date().toISOString(),
    expires: until ? new Date(until + "T23:59:59").toISOString() : undefined,
  };
}

function subCard(s) {
  const prefix = "s-" + s.id.replace(/[^a-zA-Z0-9_-]/g, "_");
  const form = h("form", { class: "edit", hidden: true },
    kindsField(prefix, s.alert_kinds),
    detailsField(prefix, s.fields),
    h("label", { for: prefix + "-until" }, t("sharing.untillabel")),
    h("input", { id: prefix + "-until", type: "date", lang, value: s.consent?.expires?.slice(0, 10) || "" }),
    h("button", { type: "submit", class: "primary" }, t("sharing.save")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = { receiver: s.receiver, transport: s.transport, endpoint: s.endpoint, alert_kinds: checked(form, prefix + "-kind"),
      message_types: s.message_types, fields: fieldsFrom(form, prefix), consent: consentFrom(form, prefix) };
    if (s.from_escalation) body.from_escalation = s.from_escalation;
    if (s.devices) body.devices = s.devices; // a device / room share stays one (editing never widens it)
    try { await api("PUT", `/subscriptions/${encodeURIComponent(s.id)}`, body); await render(); } catch (err) { showError(err); }
  });
  return h("section", { class: "card", "data-subscription": s.id, "aria-label": s.receiver.name },
    h("h3", {}, s.receiver.name, " ", h("span", { class: "badge ok" }, t("receiver." + s.receiver.kind, t("receiver.other")))),
    h("p", { class: "plain" }, sentence(s)),
    s.consent ? h("p", { class: "muted" }, fmt("sharing.granted", { by: actor(s.consent.granted_by), at: when(s.consent.granted_at) })) : null,
    h("div", { class: "row" },
      h("button", { type: "button", onclick: () => { form.hidden = !form.hidden; } }, t("sharing.change")),
      h("button", { type: "button", class: "danger", onclick: async () => {
        if (!confirm(fmt("sharing.confirm", { name: s.receiver.name }))) return;
        try { await api("DELETE", `/subscriptions/${encodeURIComponent(s.id)}`); await render(); } catch (err) { showError(err); }
      } }, t("sharing.withdraw"))),
    form);
}

// the new-grant form stays closed until the resident asks for it
function grantForm() {
  const p = "new";
  const form = h("form", { id: "grant" },
    h("label", { for: "new-name" }, t("sharing.name")), h("input", { id: "new-name", required: true, maxlength: 200 }),
    h("label", { for: "new-kind" }, t("sharing.receiverkind")),
    h("select", { id: "new-kind" }, ["community", "government", "family", "care_provider", "other"].map((k) => h("option", { value: k }, t("receiver." + k, t("receiver.other"))))),
    h("label", { for: "new-endpoint" }, t("sharing.endpoint")), h("input", { id: "new-endpoint", type: "url", required: true }),
    h("label", { for: "new-secret" }, t("sharing.secret")), h("input", { id: "new-secret", autocomplete: "off" }),
    kindsField(p, ["fall", "smoke", "sos"]),
    detailsField(p, ["room", "summary", "summary_zh"]),
    h("label", { for: "new-until" }, t("sharing.untillabel")), h("input", { id: "new-until", type: "date", lang }),
    h("button", { type: "submit", class: "primary" }, t("sharing.grant")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const secret = form.querySelector("#new-secret").value.trim();
    const body = { receiver: { name: form.querySelector("#new-name").value, kind: form.querySelector("#new-kind").value },
      transport: "webhook", endpoint: form.querySelector("#new-endpoint").value, secret: secret || undefined,
      alert_kinds: checked(form, p + "-kind"), fields: fieldsFrom(form, p), consent: consentFrom(form, p) };
    try { await api("POST", "/subscriptions", body); await render(); } catch (err) { showError(err); }
  });
  return h("details", { class: "card", id: "grant-box" }, h("summary", {}, t("sharing.new")), form);
}

// one audit row as a sentence: "3月5日 14:02 已把「厨房烟雾」告诉阳光社区服务中心"
function auditSentence(e, names, alerts) {
  const platform = names.get(e.subscription) || e.detail?.receiver || t("sharing.aplatform");
  if (e.action.startsWith("command.")) {  // a partner's command into the home: which capability, which command
    const d = e.detail || {};
    const cmd = capDef(d.capability)?.commands?.find((c) => c.name === d.command);
    const setting = d.command === "set" ? Object.keys(d.params || {}).map((p) => propLabel(d.capability, p)).join(" / ") : "";
    const what = `${capLabel(d.capability)} · ${setting || word(cmd?.label, t("audit.acommand"))}`;
    return fmt(t("auditsay." + e.action, "") ? "auditsay." + e.action : "auditsay.other", { who: actor(e.actor), platform, what });
  }
  const alertId = e.detail?.alert || String(e.message_id || "").replace(/\.[^.]*$/, "");
  const a = alerts.get(alertId);
  const what = a ? fmt("alert.short", { what: emergency.kindName(a.kind), where: a.room ? roomName(a.room) : t("home.whole") }) : t("sharing.analert");
  const key = "auditsay." + e.action;
  return fmt(t(key, "") ? key : "auditsay.other", { who: actor(e.actor), platform, what });
}

async function auditList(names, alerts) {
  const items = [];
  let since = 0;
  for (;;) {
    const page = await api("GET", `/audit?since=${since}&limit=1000`);
    items.push(...page.items);
    if (page.items.length < 1000) break;
    since = page.next;
  }
  // "about to send" is news only until the outcome of the same message is written
  const done = new Set(items.filter((e) => e.action !== "share.queued" && e.message_id).map((e) => `${e.subscription}|${e.message_id}`));
  const recent = items.filter((e) => e.action !== "share.queued" || !done.has(`${e.subscription}|${e.message_id}`)).slice(-50).reverse();
  if (!recent.length) return h("p", { class: "muted" }, t("sharing.noaudit"));
  return h("ol", { id: "audit", class: "audit" }, recent.map((e) => h("li", { "data-action": e.action },
    h("span", { class: "when" }, when(e.time)), " ", auditSentence(e, names, alerts),
    e.detail?.drill ? h("span", { class: "badge drill", "data-drill": "" }, t("alerts.drill")) : null)));
}

// Dead letters: messages a platform never took after a day of retries (or that it refused with
// 410 Gone). The resident sees them and can send them again, one by one or all of one platform.
async function deadLetters(subs) {
  const rows = [];
  for (const s of subs) {
    const list = await api("GET", `/subscriptions/${encodeURIComponent(s.id)}/deliveries?status=dead&limit=200`);
    rows.push(...list.items.map((d) => ({ ...d, sub: s })));
  }
  const resend = (path) => async () => {
    try { await api("POST", path); await render(); } catch (err) { showError(err); }
  };
  const disabled = subs.filter((s) => s.disabled).map((s) =>
    h("p", { class: "error", "data-disabled": s.id }, fmt("sharing.disabled", { name: s.receiver.name, at: when(s.disabled.at) })));
  if (!rows.length) return h("section", { id: "dead-letters" }, ...disabled, h("p", { class: "muted" }, t("sharing.nodead")));
  const base = (d) => `/subscriptions/${encodeURIComponent(d.sub.id)}/deliveries`;
  return h("section", { id: "dead-letters" }, ...disabled, h("p", {}, t("sharing.deadintro")),
    h("div", { class: "table-wrap" }, h("table", {},
      h("thead", {}, h("tr", {}, ["alerts.when", "alerts.platform", "sharing.what", "sharing.why", "sharing.resend"].map((k) => h("th", { scope: "col" }, t(k))))),
      h("tbody", {}, rows.map((d) => h("tr", { "data-dead": d.message_id },
        h("td", {}, when(d.created)), h("td", {}, d.sub.receiver.name), h("td", {}, d.kind ? t("kind." + d.kind, d.kind) : d.type),
        h("td", { title: d.last_error || "" }, t(/\b410\b/.test(d.last_error || "") ? "sharing.why.gone" : "sharing.why.failed")),
        h("td", {}, h("button", { type: "button", onclick: resend(`${base(d)}/${encodeURIComponent(d.message_id)}/retry`) }, t("sharing.resend")))))))),
    h("div", { class: "row" }, [...new Set(rows.map((d) => d.sub))].map((s) =>
      h("button", { type: "button", "data-resend-all": s.id, onclick: resend(`/subscriptions/${encodeURIComponent(s.id)}/deliveries/retry`) },
        fmt("sharing.resendall", { name: s.receiver.name })))));
}

async function sharingPage() {
  const [subs, alerts] = await Promise.all([api("GET", "/subscriptions"), api("GET", "/alerts?limit=200")]);
  const names = new Map(subs.items.map((s) => [s.id, s.receiver.name]));
  const byId = new Map(alerts.items.map((a) => [a.id, a]));
  main.replaceChildren(
    title(t("nav.sharing")),
    h("p", {}, t("sharing.intro")),
    h("div", {}, subs.items.length ? subs.items.map(subCard) : h("p", {}, t("sharing.none"))),
    enrolForm(render),
    h("h2", {}, t("sharing.dead")), await deadLetters(subs.items),
    grantForm(),
    h("h2", {}, t("sharing.audit")), await auditList(names, byId));
}

// ---------------------------------------------------------------- Settings
// times of day are typed on a 24-hour clock ("22:00"): a browser's time picker may show AM/PM
const CLOCK = { inputmode: "numeric", maxlength: 5, pattern: "([01][0-9]|2[0-3]):[0-5][0-9]", autocomplete: "off", class: "clock" };
// [API field, input type, label key, attributes]: one row per plain setting, in page order
const HOME_FIELDS = [
  ["name", "text", "settings.homename", { maxlength: 200, autocomplete: "off" }],
  ["address", "text", "settings.address", { maxlength: 500, autocomplete: "off" }],
  ["division_code", "text", "settings.division", { inputmode: "numeric", maxlength: 12, autocomplete: "off" }],
];
const RULE_FIELDS = [
  ["door_open_minutes", "number", "settings.dooropen", { min: 1, max: 1440, step: 1, inputmode: "numeric" }],
  ["night_start", "text", "settings.nightstart", CLOCK],
  ["night_end", "text", "settings.nightend", CLOCK],
];
const WINDOW_FIELDS = [
  ["start", "text", "settings.wstart", CLOCK],
  ["end", "text", "settings.wend", CLOCK],
  ["max_quiet_hours", "number", "settings.wquiet", { min: 0.5, max: 168, step: 0.5, inputmode: "decimal" }],
];
const MAX_CONTACTS = 4;

// the label, the input, a hint if there is one, and the place its error is written in words
function settingField(id, type, labelKey, attrs, value) {
  const hint = t(labelKey + ".hint", "");
  const describedBy = [hint ? id + "-hint" : null, id + "-error"].filter(Boolean).join(" ");
  return h("div", { class: "field" },
    h("label", { for: id }, t(labelKey)),
    hint ? h("p", { id: id + "-hint", class: "muted hint" }, hint) : null,
    h("input", { id, name: id, type, lang, value: value ?? "", "aria-describedby": describedBy, ...attrs }),
    h("p", { id: id + "-error", class: "error", hidden: true }));
}

// "body.inactivity_windows[1].start" -> the id of the input it names
function settingId(param) {
  const path = param.replace(/^body\.?/, "");
  const w = /^inactivity_windows\[(\d+)\]\.(\w+)$/.exec(path);
  if (w) return `set-w${w[1]}-${w[2] === "max_quiet_minutes" ? "max_quiet_hours" : w[2]}`;
  const c = /^contacts\[(\d+)\]\.(\w+)$/.exec(path);
  if (c) return `set-c${c[1]}-contact_${c[2]}`;
  const r = /^room_names\.(.+)$/.exec(path);
  if (r) return `set-room-${r[1]}`;
  return "set-" + (path.replace(/\[.*$/, "") || "form");
}

function numberOrNull(input) { return input.value.trim() === "" ? null : Number(input.value); }

function settingsFrom(form, windows, roomIds) {
  const value = (name) => form.querySelector("#set-" + name).value;
  const text = (name) => value(name).trim() || null;
  const contacts = [];
  for (let i = 0; form.querySelector(`#set-c${i}-contact_name`); i++) {
    const name = value(`c${i}-contact_name`).trim(), phone = value(`c${i}-contact_phone`).trim();
    if (name || phone) contacts.push({ name, phone });
  }
  const roomNames = {};
  for (const id of roomIds) { const v = value("room-" + id).trim(); if (v) roomNames[id] = v; }
  return {
    name: value("name").trim(), address: text("address"), division_code: text("division_code"),
    inactivity_windows: windows.map((_, i) => {
      const hours = numberOrNull(form.querySelector(`#set-w${i}-max_quiet_hours`));
      return { start: value(`w${i}-start`), end: value(`w${i}-end`),
        max_quiet_minutes: hours === null ? null : Math.round(hours * 60) };
    }),
    door_open_minutes: numberOrNull(form.querySelector("#set-door_open_minutes")),
    night_start: value("night_start"), night_end: value("night_end"),
    contacts, room_names: roomNames,
  };
}

function showFieldErrors(form, problemDoc) {
  for (const el of form.querySelectorAll(".error")) { el.hidden = true; el.textContent = ""; }
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  let first = null;
  for (const p of problemDoc?.["invalid-params"] || []) {
    const id = settingId(p.name);
    const input = form.querySelector("#" + CSS.escape(id));
    const out = form.querySelector("#" + CSS.escape(input ? id + "-error" : "set-form-error"));
    const key = "settings.err." + id.replace(/^set-(w\d+-|c\d+-)?/, "").replace(/^room-.*/, "room");
    out.textContent = t(key, t("settings.err.other"));
    out.hidden = false;
    if (input) { input.setAttribute("aria-invalid", "true"); first ??= input; }
  }
  (first || form.querySelector("#set-form-error")).focus?.();
}

function settingsForm(current, editable, roomIds) {
  const windows = current.inactivity_windows;
  const status = h("p", { id: "settings-status", role: "status", class: "muted" });
  const contacts = current.contacts || [];
  const form = h("form", { id: "settings", class: "card", novalidate: true },
    h("fieldset", { disabled: !editable },
      h("legend", {}, t("settings.home")),
      HOME_FIELDS.map(([name, type, key, attrs]) => settingField("set-" + name, type, key, attrs, current[name]))),
    h("fieldset", { disabled: !editable, id: "contacts" },
      h("legend", {}, t("settings.contacts")),
      h("p", { class: "muted hint" }, t("settings.contacts.hint")),
      // the contacts there are, and one empty row for a new one
      Array.from({ length: Math.min(MAX_CONTACTS, contacts.length + 1) }, (_, i) => h("fieldset", { class: "window" },
        h("legend", {}, fmt("settings.contact", { n: i + 1 })),
        settingField(`set-c${i}-contact_name`, "text", "settings.cname", { maxlength: 40, autocomplete: "off" }, contacts[i]?.name),
        settingField(`set-c${i}-contact_phone`, "tel", "settings.cphone", { maxlength: 24, autocomplete: "off", inputmode: "tel" }, contacts[i]?.phone)))),
    roomIds.length ? h("fieldset", { disabled: !editable, id: "rooms" },
      h("legend", {}, t("settings.rooms")),
      h("p", { class: "muted hint" }, t("settings.rooms.hint")),
      roomIds.map((id) => settingField(`set-room-${id}`, "text", "settings.roomname", { maxlength: 40, autocomplete: "off", placeholder: roomName(id) },
        current.room_names?.[id]))) : null,
    h("fieldset", { disabled: !editable },
      h("legend", {}, t("settings.inactivity")),
      h("p", { class: "muted" }, t("settings.inactivity.hint")),
      windows.map((w, i) => h("fieldset", { class: "window" },
        h("legend", {}, fmt("settings.window", { n: i + 1 })),
        WINDOW_FIELDS.map(([name, type, key, attrs]) => settingField(`set-w${i}-${name}`, type, key, attrs,
          name === "max_quiet_hours" ? w.max_quiet_minutes / 60 : w[name]))))),
    h("fieldset", { disabled: !editable },
      h("legend", {}, t("settings.rules")),
      RULE_FIELDS.map(([name, type, key, attrs]) => settingField("set-" + name, type, key, attrs, current[name]))),
    h("p", { id: "set-form-error", class: "error", hidden: true, tabindex: -1 }),
    editable ? h("button", { type: "submit", class: "primary" }, t("settings.save")) : h("p", { class: "muted" }, t("settings.adminonly")),
    status);
  // each room field is labelled with the room it names
  for (const id of roomIds) form.querySelector(`label[for="set-room-${CSS.escape(id)}"]`).textContent = fmt("settings.roomname", { room: roomName(id) });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    status.textContent = "";
    try {
      const saved = await api("PUT", "/settings", settingsFrom(form, windows, roomIds));
      showFieldErrors(form, null);
      setRoomNames(saved.room_names);
      emergency.setContacts(saved.contacts);
      status.textContent = t("settings.saved");
    } catch (err) {
      if (err instanceof ApiError && err.status === 422) showFieldErrors(form, err.problem); else showError(err);
    }
  });
  return form;
}

const SCOPE_WORDS = { admin: "scope.admin", read: "scope.read", control: "scope.control", alerts: "scope.alerts" };

async function settingsPage(session) {
  const [health, current, devices] = await Promise.all([api("GET", "/health"), api("GET", "/settings"), allDevices()]);
  const roomIds = [...new Set(devices.map((e) => e.device.room).filter(Boolean))].sort();
  const out = [title(t("nav.settings")),
    h("h2", {}, t("settings.sound")),
    h("div", { class: "card" }, h("p", { id: "sound-state" }, t(emergency.soundWanted() ? "sound.ison" : "sound.isoff")),
      h("button", { type: "button", id: "sound-toggle", "aria-pressed": String(emergency.soundWanted()), onclick: () => {
        localStorage.setItem("dhome.sound", emergency.soundWanted() ? "off" : "on");
        render();
      } }, t(emergency.soundWanted() ? "sound.disable" : "sound.enable"))),
    settingsForm(current, session.scopes.includes("admin"), roomIds),
    h("h2", {}, t("settings.about")),
    h("dl", { class: "props card" }, h("dt", {}, t("settings.homeid")), h("dd", {}, health.home),
      h("dt", {}, t("settings.version")), h("dd", {}, health.version))];
  out.push(h("h2", {}, t("settings.sessions")));
  if (session.scopes.includes("admin")) {
    const tokens = await api("GET", "/tokens");
    out.push(h("ul", { class: "sessions" }, tokens.items.filter((x) => !x.revoked).map((x) => h("li", { class: "card", "data-token": x.id },
      h("p", {}, h("strong", {}, actor(x.name.startsWith("session") ? "session: x" : "token:x(" + x.name + ")")),
        x.id === session.token_id ? ` (${t("settings.this")})` : ""),
      h("p", { class: "muted" }, fmt("settings.tokenline", { scopes: list(x.scopes.map((s) => t(SCOPE_WORDS[s] || "scope.other"))),
        last: x.last_used ? when(x.last_used) : t("settings.never") })),
      x.id === session.token_id ? null : h("button", { type: "button", class: "danger", onclick: async () => {
        try { await api("DELETE", `/tokens/${encodeURIComponent(x.id)}`); await render(); } catch (err) { showError(err); }
      } }, t("settings.revoke"))))));
  }
  out.push(h("button", { type: "button", class: "danger", id: "signout", onclick: async () => {
    await fetch("/session", { method: "DELETE", credentials: "same-origin", headers: { "X-CSRF-Token": session.csrf } });
    location.assign("/signin");
  } }, t("settings.signout")));
  main.replaceChildren(...out);
}

// ---------------------------------------------------------------- router
let session;
async function render() {
  for (const fn of cleanup) fn();
  cleanup = [];
  problem.hidden = true;
  const path = location.pathname;
  for (const a of document.querySelectorAll("nav a")) {
    if (a.getAttribute("href") === path) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
  try {
    if (path === "/alerts") await alertsPage();
    else if (path === "/sharing") await sharingPage();
    else if (path === "/settings") await settingsPage(session);
    else if (path.startsWith("/devices/")) await devicePage(decodeURIComponent(path.slice("/devices/".length)));
    else await homePage();
    document.body.dataset.page = path;
  } catch (err) {
    showError(err);
  }
}

document.addEventListener("click", (ev) => {
  const a = ev.target.closest("a[href^='/']");
  if (!a || ev.ctrlKey || ev.metaKey) return;
  ev.preventDefault();
  history.pushState(null, "", a.getAttribute("href"));
  render().then(() => main.focus());
});
window.addEventListener("popstate", render);

await loadLang();
session = await loadSession();
window.dhomeSession = session;
// a hub running a drill says so on every page: its alerts are an exercise
const [cat, settings, health] = await Promise.all([api("GET", "/catalog"), api("GET", "/settings"), api("GET", "/health"), emergency.loadKinds()]);
document.getElementById("drill-notice").hidden = !health.drill;
setCatalog(cat.capabilities);
setRoomNames(settings.room_names);
emergency.setContacts(settings.contacts);
document.getElementById("home-name").textContent = settings.name;
connectWs();
emergency.whenAcknowledged(() => { if (location.pathname === "/alerts" || location.pathname === "/") render(); });
await Promise.all([emergency.start(), render()]);
