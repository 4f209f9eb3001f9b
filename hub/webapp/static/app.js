// The resident app: a router over five pages, each built from the public API.
import { api, ApiError, connectWs, fmt, h, loadLang, loadSession, onMessage, t, when } from "/static/lib.js";
import { lineChart } from "/static/chart.js";

// capabilities that keep someone safe are listed first and marked
const SAFETY = ["dhi.smoke_alarm", "dhi.co_alarm", "dhi.gas_leak", "dhi.water_leak", "dhi.sos", "dhi.fall_detection"];
const ALERT_KINDS = ["smoke", "co", "gas_leak", "water_leak", "sos", "fall", "inactivity", "night_activity"];
const main = document.getElementById("main");
const banner = document.getElementById("banner");
let catalog = new Map();
let cleanup = [];

function showError(err) {
  banner.hidden = false;
  banner.textContent = err instanceof ApiError ? fmt("error.api", { detail: err.message }) : String(err);
}

function title(text) {
  document.title = `${text} · dhome`;
  return h("h1", {}, text);
}

function capLabel(cap) {
  const def = catalog.get(cap);
  const label = def?.label;
  if (label && typeof label === "object") return label[document.documentElement.lang] || label.en || cap;
  return t("cap." + cap, cap);
}

function propDef(cap, prop) {
  return catalog.get(cap)?.properties?.find((p) => p.name === prop);
}

function propLabel(cap, prop) {
  const label = propDef(cap, prop)?.label;
  if (label && typeof label === "object") return label[document.documentElement.lang] || label.en || prop;
  return prop;
}

// a switch is on/off; any other true/false reads as yes/no ("smoke detected: no")
function show(value, cap) {
  const sw = cap === "dhi.on_off";
  if (value === true) return t(sw ? "value.true" : "value.yes");
  if (value === false) return t(sw ? "value.false" : "value.no");
  if (value === null || value === undefined) return "—";
  return t("value." + value, String(value));
}

// "token:tok_1(session: phone)" -> "session: phone": people recognise the name, not the id
function actor(by) {
  const m = /^token:[^(]*\((.*)\)$/.exec(by || "");
  return m ? m[1] : by;
}

function isSafety(dev) {
  return dev.components.some((c) => c.capabilities.some((cap) => SAFETY.includes(cap.id)));
}

function flags(entry, state) {
  const out = [];
  if (!entry.available) out.push(h("span", { class: "badge danger" }, t("device.offline")));
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
        const label = capLabel(cap) + (Object.keys(props).length === 1 ? "" : ` · ${propLabel(cap, prop)}`);
        dl.append(h("dt", {}, label), h("dd", { "data-prop": propKey(devId, comp, cap, prop) }, show(ps.value, cap)));
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
      el.textContent = show(d.value, d.capability);
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

// ---------------------------------------------------------------- Home
async function homePage() {
  const devices = await allDevices();
  const states = await Promise.all(devices.map((e) => api("GET", `/devices/${encodeURIComponent(e.device.id)}/state`)));
  const rows = devices.map((e, i) => ({ e, s: states[i] }));
  rows.sort((a, b) => Number(isSafety(b.e.device)) - Number(isSafety(a.e.device)) ||
    (a.e.device.room || "").localeCompare(b.e.device.room || "") || a.e.device.name.localeCompare(b.e.device.name));
  const rooms = new Map();
  for (const r of rows) {
    const room = isSafety(r.e.device) ? t("home.safety") : (r.e.device.room || t("home.noroom"));
    if (!rooms.has(room)) rooms.set(room, []);
    rooms.get(room).push(r);
  }
  const out = [title(t("nav.home"))];
  if (!devices.length) out.push(h("p", {}, t("home.empty")));
  for (const [room, list] of rooms) {
    out.push(h("h2", {}, room), h("div", { class: "grid" }, list.map(({ e, s }) => {
      const d = e.device;
      return h("section", { class: "card device" + (isSafety(d) ? " safety" : ""), "aria-label": d.name },
        h("a", { href: `/devices/${encodeURIComponent(d.id)}` }, d.name),
        h("div", {}, flags(e, s)),
        stateList(d.id, s));
    })));
  }
  main.replaceChildren(...out);
  liveState();
}

// ---------------------------------------------------------------- Device
function control(devId, comp, cap, prop, def, current) {
  const path = `/devices/${encodeURIComponent(devId)}/state/${encodeURIComponent(comp)}/${encodeURIComponent(cap)}/${encodeURIComponent(prop)}`;
  const status = h("p", { role: "status", class: "muted" });
  const send = async (value) => {
    status.textContent = t("device.sending");
    try {
      await api("PUT", path, value);
      status.textContent = t("device.done");
    } catch (err) {
      status.textContent = fmt("device.failed", { detail: err.message });
      status.className = "error";
    }
  };
  const name = `${capLabel(cap)} · ${propLabel(cap, prop)}`;
  if (def.type === "boolean") {
    return h("div", { class: "row" },
      h("button", { type: "button", class: "primary", "data-control": `${cap}.${prop}`,
        onclick: async (ev) => { const on = ev.target.dataset.value !== "true"; await send(on); } ,
        "data-value": String(current === true) }, fmt("device.toggle", { name })),
      status);
  }
  const id = `c-${comp}-${cap}-${prop}`.replace(/[^a-zA-Z0-9_-]/g, "_");
  let input;
  if (def.enum) {
    input = h("select", { id }, def.enum.map((v) => h("option", { value: v, selected: v === current }, show(v))));
  } else {
    input = h("input", { id, type: "number", value: current ?? "", min: def.minimum, max: def.maximum, step: def.step ?? "any" });
  }
  return h("div", {},
    h("label", { for: id }, name), input,
    h("button", { type: "button", onclick: () => send(def.enum || def.type === "string" ? input.value : Number(input.value)) }, t("device.set")),
    status);
}

async function devicePage(id) {
  const path = `/devices/${encodeURIComponent(id)}`;
  const [entry, state] = await Promise.all([api("GET", path), api("GET", path + "/state")]);
  const d = entry.device ?? entry;
  const out = [title(d.name), h("p", {}, flags({ available: state.available }, state),
    d.room ? h("span", { class: "muted" }, fmt("device.room", { room: d.room })) : null)];
  out.push(h("h2", {}, t("device.state")), h("div", { class: "card" }, stateList(id, state)));
  const controls = [];
  const numeric = [];
  for (const comp of d.components) {
    for (const cap of comp.capabilities) {
      for (const prop of catalog.get(cap.id)?.properties || []) {
        if (cap.properties && !cap.properties.includes(prop.name)) continue;
        const current = state.components?.[comp.id]?.[cap.id]?.[prop.name]?.value;
        if ((prop.access || []).includes("write")) controls.push(control(id, comp.id, cap.id, prop.name, prop, current));
        if (prop.type === "number" || prop.type === "integer") numeric.push([comp.id, cap.id, prop.name]);
      }
    }
  }
  if (controls.length) out.push(h("h2", {}, t("device.controls")), h("div", { class: "card" }, controls));
  out.push(h("h2", {}, t("device.history")));
  const to = new Date(), from = new Date(to.getTime() - 24 * 3600 * 1000);
  if (!numeric.length) out.push(h("p", { class: "muted" }, t("device.nohistory")));
  for (const [comp, cap, prop] of numeric.slice(0, 3)) {
    const q = new URLSearchParams({ since: from.toISOString(), component: comp, capability: cap, property: prop, limit: "1000" });
    const hist = await api("GET", `${path}/history?${q}`);
    const pts = hist.items.filter((p) => typeof p.value === "number");
    const name = `${capLabel(cap)} · ${propLabel(cap, prop)}`;
    out.push(h("h3", {}, name), pts.length ? lineChart(pts, fmt("device.chart", { name }), from, to) : h("p", { class: "muted" }, t("device.nohistory")));
  }
  main.replaceChildren(...out);
  liveState();
  cleanup.push(onMessage((m) => {
    if (m.type !== "org.dhi.v1.state.changed" || m.data.device !== id) return;
    for (const b of main.querySelectorAll(`[data-control="${CSS.escape(m.data.capability + "." + m.data.property)}"]`)) {
      b.dataset.value = String(m.data.value === true);
    }
  }));
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
  // one line per platform: its latest delivery about this alert
  const latest = new Map();
  for (const r of rows) {
    const seen = latest.get(r.platform);
    if (!seen || String(r.d.created) > String(seen.d.created)) latest.set(r.platform, r);
  }
  return h("ul", {}, [...latest.values()].map(({ platform, d }) => h("li", { "data-platform": platform, "data-state": d.state },
    fmt("alerts.told", { platform, status: t("delivery." + d.state, d.state || ""), at: when(d.delivered || d.created) }),
    d.last_error ? ` (${d.last_error})` : "")));
}

function alertCard(a, told) {
  const summary = document.documentElement.lang === "zh-CN" ? (a.summary_zh || a.summary) : (a.summary || a.summary_zh);
  const active = a.state === "active";
  return h("section", { class: "card" + (active ? " alert-active" : ""), "data-alert": a.id, "aria-label": t("kind." + a.kind, a.kind) },
    h("h3", {}, t("kind." + a.kind, a.kind), " ", h("span", { class: "badge " + (active ? "danger" : "ok") }, t("state." + a.state, a.state)),
      a.drill ? h("span", { class: "badge drill", "data-drill": "" }, t("alerts.drill")) : null),
    summary ? h("p", {}, summary) : null,
    h("p", { class: "muted" }, fmt("alerts.seen", { first: when(a.first_seen), last: when(a.last_seen), count: a.count }),
      a.room ? " · " + fmt("device.room", { room: a.room }) : ""),
    a.acknowledged_by ? h("p", {}, fmt("alerts.acked", { by: actor(a.acknowledged_by), at: when(a.acknowledged_at) })) : null,
    h("div", { "data-deliveries": a.id }, h("strong", {}, t("alerts.notified")), deliveryList(told.get(a.id))),
    active && !a.acknowledged_by ? h("button", { type: "button", class: "primary", onclick: async (ev) => {
      ev.target.disabled = true;
      try { await api("POST", `/alerts/${encodeURIComponent(a.id)}/ack`); await render(); } catch (err) { showError(err); }
    } }, t("alerts.ack")) : null);
}

async function alertsPage() {
  const [alerts, subs] = await Promise.all([api("GET", "/alerts?limit=200"), api("GET", "/subscriptions")]);
  const told = await deliveriesByAlert(subs.items);
  const active = alerts.items.filter((a) => a.state === "active");
  const past = alerts.items.filter((a) => a.state !== "active");
  main.replaceChildren(
    title(t("nav.alerts")),
    h("h2", {}, t("alerts.active")),
    h("div", { id: "active-alerts" }, active.length ? active.map((a) => alertCard(a, told)) : h("p", {}, t("alerts.none"))),
    h("h2", {}, t("alerts.past")),
    h("div", {}, past.length ? past.map((a) => alertCard(a, told)) : h("p", { class: "muted" }, t("alerts.nonepast"))));
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
function sentence(s) {
  const kinds = s.alert_kinds.length ? s.alert_kinds : ALERT_KINDS;
  const not = ALERT_KINDS.filter((k) => !kinds.includes(k)).map((k) => t("kind." + k, k));
  const parts = [fmt("sharing.receives", { name: s.receiver.name, what: kinds.map((k) => t("kind." + k, k)).join(t("list.sep")) })];
  parts.push(fmt("sharing.not", { what: [...not, t("sharing.camera"), t("sharing.location")].join(t("list.sep")) }));
  if (s.from_escalation > 0) parts.push(fmt("sharing.escalation", { level: s.from_escalation }));
  parts.push(s.consent?.expires ? fmt("sharing.until", { date: s.consent.expires.slice(0, 10) }) : t("sharing.noend"));
  return parts.join(t("sentence.sep"));
}

function kindsField(prefix, chosen) {
  return h("fieldset", {}, h("legend", {}, t("sharing.kinds")),
    ALERT_KINDS.map((k) => h("label", { class: "check" },
      h("input", { type: "checkbox", name: prefix + "-kind", value: k, checked: chosen.includes(k) }), t("kind." + k, k))));
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
    h("label", { for: prefix + "-until" }, t("sharing.untillabel")),
    h("input", { id: prefix + "-until", type: "date", value: s.consent?.expires?.slice(0, 10) || "" }),
    h("button", { type: "submit", class: "primary" }, t("sharing.save")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = { receiver: s.receiver, transport: s.transport, endpoint: s.endpoint, alert_kinds: checked(form, prefix + "-kind"),
      message_types: s.message_types, fields: s.fields ?? undefined, consent: consentFrom(form, prefix) };
    try { await api("PUT", `/subscriptions/${encodeURIComponent(s.id)}`, body); await render(); } catch (err) { showError(err); }
  });
  return h("section", { class: "card", "data-subscription": s.id, "aria-label": s.receiver.name },
    h("h3", {}, s.receiver.name, " ", h("span", { class: "badge ok" }, t("receiver." + s.receiver.kind, s.receiver.kind))),
    h("p", { class: "plain" }, sentence(s)),
    s.consent ? h("p", { class: "muted" }, fmt("sharing.granted", { by: s.consent.granted_by, at: when(s.consent.granted_at) })) : null,
    h("div", { class: "row" },
      h("button", { type: "button", onclick: () => { form.hidden = !form.hidden; } }, t("sharing.change")),
      h("button", { type: "button", class: "danger", onclick: async () => {
        if (!confirm(fmt("sharing.confirm", { name: s.receiver.name }))) return;
        try { await api("DELETE", `/subscriptions/${encodeURIComponent(s.id)}`); await render(); } catch (err) { showError(err); }
      } }, t("sharing.withdraw"))),
    form);
}

function grantForm() {
  const p = "new";
  const form = h("form", { class: "card", id: "grant" },
    h("label", { for: "new-name" }, t("sharing.name")), h("input", { id: "new-name", required: true, maxlength: 200 }),
    h("label", { for: "new-kind" }, t("sharing.receiverkind")),
    h("select", { id: "new-kind" }, ["community", "government", "family", "care_provider", "other"].map((k) => h("option", { value: k }, t("receiver." + k, k)))),
    h("label", { for: "new-endpoint" }, t("sharing.endpoint")), h("input", { id: "new-endpoint", type: "url", required: true }),
    h("label", { for: "new-secret" }, t("sharing.secret")), h("input", { id: "new-secret", autocomplete: "off" }),
    kindsField(p, ["fall", "smoke", "sos"]),
    h("label", { for: "new-until" }, t("sharing.untillabel")), h("input", { id: "new-until", type: "date" }),
    h("button", { type: "submit", class: "primary" }, t("sharing.grant")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const secret = form.querySelector("#new-secret").value.trim();
    const body = { receiver: { name: form.querySelector("#new-name").value, kind: form.querySelector("#new-kind").value },
      transport: "webhook", endpoint: form.querySelector("#new-endpoint").value, secret: secret || undefined,
      alert_kinds: checked(form, p + "-kind"), consent: consentFrom(form, p) };
    try { await api("POST", "/subscriptions", body); await render(); } catch (err) { showError(err); }
  });
  return form;
}

async function auditTable(names) {
  const items = [];
  let since = 0;
  for (;;) {
    const page = await api("GET", `/audit?since=${since}&limit=1000`);
    items.push(...page.items);
    if (page.items.length < 1000) break;
    since = page.next;
  }
  const recent = items.slice(-50).reverse();
  if (!recent.length) return h("p", { class: "muted" }, t("sharing.noaudit"));
  return h("div", { class: "table-wrap" }, h("table", { id: "audit" },
    h("thead", {}, h("tr", {}, ["alerts.when", "sharing.who", "sharing.action", "alerts.platform"].map((k) => h("th", { scope: "col" }, t(k))))),
    h("tbody", {}, recent.map((e) => h("tr", { "data-action": e.action },
      h("td", {}, when(e.time)), h("td", {}, actor(e.actor)), h("td", {}, t("audit." + e.action, e.action),
        e.detail?.drill ? h("span", { class: "badge drill", "data-drill": "" }, t("alerts.drill")) : null),
      h("td", {}, names.get(e.subscription) || e.subscription || ""))))));
}

async function sharingPage() {
  const subs = await api("GET", "/subscriptions");
  const names = new Map(subs.items.map((s) => [s.id, s.receiver.name]));
  main.replaceChildren(
    title(t("nav.sharing")),
    h("p", {}, t("sharing.intro")),
    h("div", {}, subs.items.length ? subs.items.map(subCard) : h("p", {}, t("sharing.none"))),
    h("h2", {}, t("sharing.new")), grantForm(),
    h("h2", {}, t("sharing.audit")), await auditTable(names));
}

// ---------------------------------------------------------------- Settings
// [API field, input type, label key, attributes]: one row per plain setting, in page order
const HOME_FIELDS = [
  ["name", "text", "settings.homename", { maxlength: 200, autocomplete: "off" }],
  ["address", "text", "settings.address", { maxlength: 500, autocomplete: "off" }],
  ["division_code", "text", "settings.division", { inputmode: "numeric", maxlength: 12, autocomplete: "off" }],
];
const RULE_FIELDS = [
  ["door_open_minutes", "number", "settings.dooropen", { min: 1, max: 1440, step: 1, inputmode: "numeric" }],
  ["night_start", "time", "settings.nightstart", {}],
  ["night_end", "time", "settings.nightend", {}],
];
const WINDOW_FIELDS = [
  ["start", "time", "settings.wstart", {}],
  ["end", "time", "settings.wend", {}],
  ["max_quiet_hours", "number", "settings.wquiet", { min: 0.5, max: 168, step: 0.5, inputmode: "decimal" }],
];

// the label, the input, a hint if there is one, and the place its error is written in words
function settingField(id, type, labelKey, attrs, value) {
  const hint = t(labelKey + ".hint", "");
  const describedBy = [hint ? id + "-hint" : null, id + "-error"].filter(Boolean).join(" ");
  return h("div", { class: "field" },
    h("label", { for: id }, t(labelKey)),
    hint ? h("p", { id: id + "-hint", class: "muted hint" }, hint) : null,
    h("input", { id, name: id, type, value: value ?? "", "aria-describedby": describedBy, ...attrs }),
    h("p", { id: id + "-error", class: "error", hidden: true }));
}

// "body.inactivity_windows[1].start" -> the id of the input it names
function settingId(param) {
  const path = param.replace(/^body\.?/, "");
  const w = /^inactivity_windows\[(\d+)\]\.(\w+)$/.exec(path);
  if (w) return `set-w${w[1]}-${w[2] === "max_quiet_minutes" ? "max_quiet_hours" : w[2]}`;
  return "set-" + (path.replace(/\[.*$/, "") || "form");
}

function numberOrNull(input) { return input.value.trim() === "" ? null : Number(input.value); }

function settingsFrom(form, windows) {
  const value = (name) => form.querySelector("#set-" + name).value;
  const text = (name) => value(name).trim() || null;
  return {
    name: value("name").trim(), address: text("address"), division_code: text("division_code"),
    inactivity_windows: windows.map((_, i) => {
      const hours = numberOrNull(form.querySelector(`#set-w${i}-max_quiet_hours`));
      return { start: value(`w${i}-start`), end: value(`w${i}-end`),
        max_quiet_minutes: hours === null ? null : Math.round(hours * 60) };
    }),
    door_open_minutes: numberOrNull(form.querySelector("#set-door_open_minutes")),
    night_start: value("night_start"), night_end: value("night_end"),
  };
}

function showFieldErrors(form, problem) {
  for (const el of form.querySelectorAll(".error")) { el.hidden = true; el.textContent = ""; }
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  let first = null;
  for (const p of problem?.["invalid-params"] || []) {
    const id = settingId(p.name);
    const input = form.querySelector("#" + CSS.escape(id));
    const out = form.querySelector("#" + CSS.escape(input ? id + "-error" : "set-form-error"));
    const key = "settings.err." + id.replace(/^set-(w\d+-)?/, "");
    out.textContent = t(key, fmt("settings.err.other", { reason: p.reason }));
    out.hidden = false;
    if (input) { input.setAttribute("aria-invalid", "true"); first ??= input; }
  }
  (first || form.querySelector("#set-form-error")).focus?.();
}

function settingsForm(current, editable) {
  const windows = current.inactivity_windows;
  const status = h("p", { id: "settings-status", role: "status", class: "muted" });
  const form = h("form", { id: "settings", class: "card", novalidate: true },
    h("fieldset", { disabled: !editable },
      h("legend", {}, t("settings.home")),
      HOME_FIELDS.map(([name, type, key, attrs]) => settingField("set-" + name, type, key, attrs, current[name]))),
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
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    status.textContent = "";
    try {
      await api("PUT", "/settings", settingsFrom(form, windows));
      showFieldErrors(form, null);
      status.textContent = t("settings.saved");
    } catch (err) {
      if (err instanceof ApiError && err.status === 422) showFieldErrors(form, err.problem); else showError(err);
    }
  });
  return form;
}

async function settingsPage(session) {
  const [health, current] = await Promise.all([api("GET", "/health"), api("GET", "/settings")]);
  const out = [title(t("nav.settings")),
    settingsForm(current, session.scopes.includes("admin")),
    h("h2", {}, t("settings.about")),
    h("dl", { class: "props card" }, h("dt", {}, t("settings.homeid")), h("dd", {}, health.home),
      h("dt", {}, t("settings.version")), h("dd", {}, health.version))];
  out.push(h("h2", {}, t("settings.sessions")));
  if (session.scopes.includes("admin")) {
    const tokens = await api("GET", "/tokens");
    out.push(h("div", { class: "table-wrap" }, h("table", {},
      h("thead", {}, h("tr", {}, ["settings.name", "settings.scopes", "settings.lastused", "settings.actions"].map((k) => h("th", { scope: "col" }, t(k))))),
      h("tbody", {}, tokens.items.filter((x) => !x.revoked).map((x) => h("tr", { "data-token": x.id },
        h("td", {}, x.name, x.id === session.token_id ? ` (${t("settings.this")})` : ""),
        h("td", {}, x.scopes.join(", ")), h("td", {}, when(x.last_used) || "—"),
        h("td", {}, x.id === session.token_id ? null : h("button", { type: "button", class: "danger", onclick: async () => {
          try { await api("DELETE", `/tokens/${encodeURIComponent(x.id)}`); await render(); } catch (err) { showError(err); }
        } }, t("settings.revoke")))))))));
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
  banner.hidden = true;
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
const [cat, health] = await Promise.all([api("GET", "/catalog"), api("GET", "/health")]);
document.getElementById("drill-notice").hidden = !health.drill;
catalog = new Map(cat.capabilities.map((c) => [c.id, c]));
connectWs();
await render();
