// Staff console of the dhome community platform (简体中文 first, English).
// Everything from a home is shown as text (textContent), never as HTML.
"use strict";

const STRINGS = {
  "zh-CN": {
    title: "社区居家安全服务平台", signin: "登录", signout: "退出", username: "用户名", password: "密码",
    "tab.queue": "待处理", "tab.households": "住户", "tab.stats": "统计", "tab.codes": "登记码",
    "tab.staff": "工作人员", "role.admin": "管理员",
    "role.duty": "值班员", "role.supervisor": "主管", lang: "English",
    staffname: "姓名", role: "角色", addstaff: "添加工作人员", disable: "停用", disabled: "已停用 {at}", active: "在用",
    initialpw: "{user} 的初始密码（只显示这一次，请当面交给本人）：", staffaudit: "账号变更记录",
    "staffact.created": "创建", "staffact.disabled": "停用", confirmdisable: "停用 {user} 的账号？停用后无法登录。",
    empty: "没有待处理的警报", ack: "接单", resolve: "处理完毕", assign: "指派", note: "备注", addnote: "添加备注",
    to: "指派给（用户名）", "desk.open": "待接单", "desk.acknowledged": "已接单", "desk.resolved": "已处理",
    taken: "已由 {by} 接单", resolvedby: "已由 {by} 处理", assigned: "指派给 {to}", escalated: "已上报主管",
    homeok: "家中已收到确认", homewait: "等待家中确认", age: "{min} 分钟前", room: "房间：{room}",
    household: "住户", address: "地址", contacts: "联系人", consent: "同意分享", open: "未处理",
    enrolled: "登记于", history: "记录", kind: "类型", count: "数量", stat_kind: "按类型", stat_home: "按住户",
    messages: "收到消息", newcode: "生成登记码", label: "备注（如楼号、门牌）", codeintro: "把登记码交给住户，住户在家中网关的“分享”页输入即可登记。",
    validdays: "{days} 天内有效，只能使用一次。", newalert: "新警报：{kind}（{home}）", conflict: "操作未执行：{detail}",
    wrong: "用户名或密码错误", "action.acknowledge": "接单", "action.resolve": "处理完毕", "action.assign": "指派",
    "action.note": "备注", "action.escalate": "上报主管", none: "无", drill: "演练",
    "sev.Extreme": "特别严重", "sev.Severe": "严重", "sev.Moderate": "中等", "sev.Minor": "轻微", "sev.Unknown": "未知",
    sharing: "共享中", withdrawn: "住户已于 {at} 撤回共享：不再接收该住户的数据，地址和联系人已删除",
    fields: "分享的信息", allfields: "全部", until: "有效期至 {at}", consentchanged: "同意范围更新于",
    "field.room": "房间", "field.summary": "摘要", "field.summary_zh": "中文摘要", "field.devices": "设备",
    "field.address": "地址", "field.location": "位置",
    changepw: "修改密码", mustchange: "这是您第一次登录：初始密码由管理员生成，请先换成只有您自己知道的密码。",
    currentpw: "当前密码", newpw: "新密码（至少 {n} 个字符）", repeatpw: "再次输入新密码", mismatch: "两次输入的新密码不一致",
    pwchanged: "密码已修改。其他设备上的登录已退出。", wrongcurrent: "当前密码不正确", "staffact.password": "修改了密码",
    cancel: "取消", badnew: "这个新密码不能用：至少 {n} 个字符，且不能与当前密码或用户名相同。",
  },
  en: {
    title: "Community home-safety centre", signin: "Sign in", signout: "Sign out", username: "User name", password: "Password",
    "tab.queue": "Queue", "tab.households": "Households", "tab.stats": "Statistics", "tab.codes": "Enrolment codes",
    "tab.staff": "Staff", "role.admin": "admin",
    staffname: "Name", role: "Role", addstaff: "Add a staff member", disable: "Disable", disabled: "disabled {at}", active: "active",
    initialpw: "Initial password of {user} (shown this once only; hand it over in person):", staffaudit: "Account changes",
    "staffact.created": "created", "staffact.disabled": "disabled", confirmdisable: "Disable the account of {user}? It can then no longer sign in.",
    "role.duty": "duty staff", "role.supervisor": "supervisor", lang: "简体中文",
    empty: "No open alerts", ack: "Take it", resolve: "Resolve", assign: "Assign", note: "Note", addnote: "Add note",
    to: "Assign to (user name)", "desk.open": "open", "desk.acknowledged": "taken", "desk.resolved": "resolved",
    taken: "Taken by {by}", resolvedby: "Resolved by {by}", assigned: "Assigned to {to}", escalated: "Escalated to supervisors",
    homeok: "Home has the acknowledgement", homewait: "Waiting for the home", age: "{min} min ago", room: "Room: {room}",
    household: "Household", address: "Address", contacts: "Contacts", consent: "Consented to share", open: "Open",
    enrolled: "Enrolled", history: "History", kind: "Kind", count: "Count", stat_kind: "By kind", stat_home: "By household",
    messages: "Messages received", newcode: "New enrolment code", label: "Note (e.g. building, flat)", codeintro: "Give the code to the resident, who types it into the Sharing page of the home hub.",
    validdays: "Valid for {days} days, once.", newalert: "New alert: {kind} ({home})", conflict: "Not done: {detail}",
    wrong: "Wrong user name or password", "action.acknowledge": "taken", "action.resolve": "resolved", "action.assign": "assigned",
    "action.note": "note", "action.escalate": "escalated to supervisors", none: "none", drill: "Drill",
    "sev.Extreme": "Extreme", "sev.Severe": "Severe", "sev.Moderate": "Moderate", "sev.Minor": "Minor", "sev.Unknown": "Unknown",
    sharing: "Sharing", withdrawn: "The resident withdrew sharing on {at}: nothing more is taken from this household; its address and contacts were erased",
    fields: "Details shared", allfields: "all", until: "until {at}", consentchanged: "Consent last changed",
    "field.room": "room", "field.summary": "summary", "field.summary_zh": "Chinese summary", "field.devices": "devices",
    "field.address": "address", "field.location": "location",
    changepw: "Change password", mustchange: "This is your first sign-in: the initial password was made by an admin, so first replace it with one only you know.",
    currentpw: "Current password", newpw: "New password (at least {n} characters)", repeatpw: "New password again", mismatch: "The two new passwords differ",
    pwchanged: "Password changed. Sign-ins on other devices were ended.", wrongcurrent: "The current password is wrong", "staffact.password": "changed the password of",
    cancel: "Cancel", badnew: "This new password cannot be used: at least {n} characters, and not the current password or the user name.",
  },
};
const SEVERITY = { Extreme: 0, Severe: 1, Moderate: 2, Minor: 3, Unknown: 4 };
const CRITICAL = new Set(["Extreme", "Severe"]);
let lang = localStorage.getItem("lang") === "en" ? "en" : "zh-CN";
let me = null;
let view = "queue";
let queue = new Map();
let source = null;

const t = (k, vars) => {
  let s = STRINGS[lang][k] ?? STRINGS["zh-CN"][k] ?? k;
  for (const [n, v] of Object.entries(vars || {})) s = s.replace("{" + n + "}", v);
  return s;
};
const $ = (id) => document.getElementById(id);
const stamp = (iso) => (iso || "").slice(0, 16).replace("T", " ");

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : String(c));
  return el;
}

async function api(method, path, body) {
  const opts = { method, headers: { "X-Requested-With": "console" }, credentials: "same-origin" };
  if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
  const resp = await fetch(path, opts);
  const data = resp.status === 204 ? null : await resp.json().catch(() => null);
  if (!resp.ok) { const err = new Error((data && data.detail) || resp.statusText); err.status = resp.status; err.data = data; throw err; }
  return data;
}

function showError(err) { $("error").textContent = err ? String(err.message || err) : ""; if (err) setTimeout(() => showError(null), 6000); }
function say(text) { $("status").textContent = text; }

function beep() {
  // a short two-tone chime for a new critical alert (allowed after the sign-in click)
  try {
    const ctx = new AudioContext();
    [880, 660].forEach((f, i) => {
      const o = ctx.createOscillator(), g = ctx.createGain();
      o.frequency.value = f; o.connect(g); g.connect(ctx.destination);
      g.gain.value = 0.2; o.start(ctx.currentTime + i * 0.25); o.stop(ctx.currentTime + i * 0.25 + 0.2);
    });
    window.dhomeChimes = (window.dhomeChimes || 0) + 1;
  } catch (e) { /* no audio device: the visual and aria-live notice remain */ }
}

function chrome() {
  document.documentElement.lang = lang;
  document.title = t("title");
  $("title").textContent = me && me.title ? me.title : t("title");
  $("lang").textContent = t("lang");
  $("lang").setAttribute("lang", lang === "en" ? "zh-CN" : "en");
  $("signout").textContent = t("signout");
  $("signout").hidden = !me;
  $("changepw").textContent = t("changepw");
  $("changepw").hidden = !me || me.must_change_password;
  $("tabs").hidden = !me || me.must_change_password;
  $("tabs").setAttribute("aria-label", t("title"));
  $("who").textContent = me ? `${me.name} · ${t("role." + me.role)}` : "";
  for (const b of $("tabs").querySelectorAll("button")) {
    b.textContent = t("tab." + b.dataset.view);
    b.hidden = Boolean(b.dataset.role) && (!me || me.role !== b.dataset.role);
    if (b.dataset.view === view) b.setAttribute("aria-current", "page"); else b.removeAttribute("aria-current");
  }
}

function signinView() {
  const user = h("input", { id: "username", autocomplete: "username", required: true });
  const pass = h("input", { id: "password", type: "password", autocomplete: "current-password", required: true });
  const form = h("form", { class: "signin" },
    h("h2", {}, t("signin")),
    h("label", { for: "username" }, t("username")), user,
    h("label", { for: "password" }, t("password")), pass,
    h("p", {}, h("button", { type: "submit", class: "primary" }, t("signin"))));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try { me = await api("POST", "/console/api/session", { username: user.value, password: pass.value }); await start(); }
    catch (err) { showError(err.status === 401 ? t("wrong") : err); }
  });
  $("main").replaceChildren(form);
}

function minutesAgo(iso) { return Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 60000)); }

// Notes being typed survive the queue's re-rendering (a new alert, another staff member's action).
const drafts = new Map();

function alertCard(a) {
  const key = a.home + "/" + a.id;
  const note = h("textarea", { "aria-label": t("note"), maxlength: 2000, placeholder: t("note"), "data-draft": key,
    oninput: (ev) => drafts.set(key, ev.target.value) });
  note.value = drafts.get(key) || "";
  const act = (action, extra) => async () => {
    try { const shown = await api("POST", `/console/api/alerts/${encodeURIComponent(a.home)}/${encodeURIComponent(a.id)}/${action}`, { note: note.value, ...(extra || {}) }); drafts.delete(key); upsert(shown); }
    catch (err) { if (err.status === 409 && err.data && err.data.alert) upsert(err.data.alert); showError(t("conflict", { detail: err.message })); }
  };
  const buttons = [];
  if (a.desk === "open") buttons.push(h("button", { type: "button", class: "primary", onclick: act("acknowledge") }, t("ack")));
  if (a.desk !== "resolved") buttons.push(h("button", { type: "button", onclick: act("resolve") }, t("resolve")));
  buttons.push(h("button", { type: "button", onclick: act("note") }, t("addnote")));
  if (me.role === "supervisor" && a.desk !== "resolved") {
    const to = h("input", { "aria-label": t("to"), placeholder: t("to"), autocomplete: "off" });
    buttons.push(to, h("button", { type: "button", onclick: () => act("assign", { to: to.value })() }, t("assign")));
  }
  const state = a.desk === "resolved" ? t("resolvedby", { by: a.resolved_by }) : a.acked_by ? t("taken", { by: a.acked_by }) : t("desk.open");
  return h("article", { class: `card ${a.severity}`, "data-alert": a.id, "data-home": a.home, "aria-label": `${t("kind." + a.kind)} ${a.household || a.home}` },
    // a drill (DHI 1.1 "drill": true) is an exercise: said first, where staff look
    h("h3", {}, a.drill ? h("span", { class: "badge drill" }, t("drill")) : null,
      h("span", { class: `badge ${a.severity}` }, t("sev." + a.severity)), t("kind." + a.kind), " · ", a.household || a.home),
    h("p", { class: "meta" }, a.home, " · ", t("age", { min: minutesAgo(a.first_seen) }), a.room ? " · " + t("room", { room: a.room }) : ""),
    (lang === "en" ? a.summary : a.summary_zh || a.summary) ? h("p", {}, lang === "en" ? a.summary : a.summary_zh || a.summary) : null,
    h("p", { class: "meta state" }, state,
      a.assignee ? " · " + t("assigned", { to: a.assignee }) : "",
      a.escalated_at ? h("span", { class: "badge escalated" }, t("escalated")) : null,
      a.acked_by ? h("span", { class: "badge" + (a.hub_state !== "active" ? " home-ok" : "") }, a.hub_state !== "active" ? t("homeok") : t("homewait")) : null),
    h("div", { class: "actions" }, note, buttons));
}

function sortedQueue() {
  return [...queue.values()].filter((a) => a.desk !== "resolved")
    .sort((x, y) => (SEVERITY[x.severity] ?? 9) - (SEVERITY[y.severity] ?? 9) || Date.parse(x.first_seen) - Date.parse(y.first_seen));
}

function renderQueue() {
  if (view !== "queue") return;
  const items = sortedQueue();
  const typing = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.draft : null;
  const caret = typing ? document.activeElement.selectionStart : 0;
  $("main").replaceChildren(h("h2", {}, t("tab.queue"), ` (${items.length})`),
    items.length ? h("div", { id: "queue" }, items.map(alertCard)) : h("p", {}, t("empty")));
  // the staff member keeps typing where they were
  const again = typing ? [...document.querySelectorAll("textarea[data-draft]")].find((el) => el.dataset.draft === typing) : null;
  if (again) { again.focus(); again.setSelectionRange(caret, caret); }
}

// Live views that arrive while a snapshot of the queue is on its way: they can be newer than the
// snapshot (read before they were committed), so they are applied again over it.
let arrivedDuringLoad = null;

// Views of one alert come by several ways (an action's own answer, the live stream, a snapshot)
// in any order; each carries the alert's version (one more per stored change), and a view older
// than the one shown is dropped, e.g. an acknowledgement's answer arriving after the home's
// confirmation was pushed.
const older = (a, shown) => shown !== undefined && (a.version ?? 0) < (shown.version ?? 0);

function upsert(a) {
  const key = a.home + "/" + a.id;
  if (older(a, queue.get(key))) return;
  const isNew = !queue.has(key);
  queue.set(key, a);
  if (arrivedDuringLoad) arrivedDuringLoad.push(a);
  if (isNew && a.desk === "open") {
    say((a.drill ? t("drill") + " · " : "") + t("newalert", { kind: t("kind." + a.kind), home: a.household || a.home }));
    if (CRITICAL.has(a.severity) && !a.drill) beep();
  }
  renderQueue();
}

async function loadQueue() {
  const arrived = arrivedDuringLoad = [];
  try {
    const data = await api("GET", "/console/api/queue");
    queue = new Map(data.items.map((a) => [a.home + "/" + a.id, a]));
    // e.g. the home's confirmation, pushed while the snapshot travelled, is not undone by it
    for (const a of arrived) if (!older(a, queue.get(a.home + "/" + a.id))) queue.set(a.home + "/" + a.id, a);
  } finally {
    if (arrivedDuringLoad === arrived) arrivedDuringLoad = null;
  }
  renderQueue();
}

function connect() {
  if (source) source.close();
  source = new EventSource("/console/events");
  source.addEventListener("alert", (ev) => upsert(JSON.parse(ev.data)));
  source.addEventListener("household", () => { if (view === "households") show("households"); });
  source.onopen = () => loadQueue().catch(showError); // anything missed while away
}

async function households() {
  const data = await api("GET", "/console/api/households");
  const cards = data.items.map((x) => h("article", { class: "card", "data-household": x.home },
    h("h3", {}, x.name, " · ", x.home),
    h("p", {}, h("strong", {}, t("address"), "："), x.address || t("none")),
    h("p", {}, h("strong", {}, t("contacts"), "："), x.contacts.length ? x.contacts.map((c) => [c.name, c.relation, c.phone].filter(Boolean).join(" ")).join("；") : t("none")),
    x.sharing
      ? h("p", { class: "consent", "data-consent": "sharing" }, h("strong", {}, t("consent"), "："),
        (x.consent.alert_kinds || []).map((k) => t("kind." + k)).join("、") || t("none"),
        x.consent.expires ? " · " + t("until", { at: stamp(x.consent.expires) }) : "")
      : h("p", { class: "consent withdrawn", "data-consent": "withdrawn", role: "status" }, t("withdrawn", { at: stamp(x.withdrawn_at) })),
    x.sharing ? h("p", {}, h("strong", {}, t("fields"), "："),
      x.consent.fields ? (x.consent.fields.map((f) => (STRINGS[lang]["field." + f] ? t("field." + f) : f)).join("、") || t("none")) : t("allfields")) : null,
    h("p", { class: "meta" }, t("open"), ": ", x.open_alerts, " · ", t("enrolled"), ": ", stamp(x.enrolled_at),
      x.consent_changed_at ? " · " + t("consentchanged") + ": " + stamp(x.consent_changed_at) : ""),
    h("details", { ontoggle: async (ev) => {
      if (!ev.target.open || ev.target.dataset.loaded) return;
      ev.target.dataset.loaded = "1";
      const hist = await api("GET", `/console/api/households/${encodeURIComponent(x.home)}/history`);
      ev.target.append(h("ul", {}, hist.items.map((e) => h("li", {}, (e.at || "").slice(0, 16).replace("T", " "), " · ", e.staff, " · ", t("action." + e.action), e.note ? " · " + e.note : ""))));
    } }, h("summary", {}, t("history")))));
  $("main").replaceChildren(h("h2", {}, t("tab.households")), ...cards);
}

function table(caption, counts) {
  return h("table", {}, h("caption", {}, caption),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, caption === t("stat_kind") ? t("kind") : t("household")), h("th", { scope: "col" }, t("count")))),
    h("tbody", {}, Object.entries(counts).map(([k, n]) => h("tr", {}, h("td", {}, caption === t("stat_kind") ? t("kind." + k) : k), h("td", {}, n)))));
}

async function stats() {
  const s = await api("GET", "/console/api/stats");
  $("main").replaceChildren(h("h2", {}, t("tab.stats")), h("p", {}, t("messages"), ": ", s.messages),
    table(t("stat_kind"), s.by_kind), table(t("stat_home"), s.by_home));
}

function codes() {
  const label = h("input", { id: "code-label", maxlength: 200 });
  const out = h("div", { "aria-live": "polite" });
  const form = h("form", {}, h("p", {}, t("codeintro")), h("label", { for: "code-label" }, t("label")), label,
    h("p", {}, h("button", { type: "submit", class: "primary" }, t("newcode"))), out);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try { const c = await api("POST", "/console/api/codes", { label: label.value }); out.replaceChildren(h("p", { class: "code" }, c.code), h("p", {}, t("validdays", { days: c.valid_days }))); }
    catch (err) { showError(err); }
  });
  $("main").replaceChildren(h("h2", {}, t("tab.codes")), form);
}

async function staff() {
  const data = await api("GET", "/console/api/staff");
  const user = h("input", { id: "staff-user", required: true, maxlength: 64, autocomplete: "off", pattern: "[a-z0-9][a-z0-9._\\-]{1,63}" });
  const name = h("input", { id: "staff-name", required: true, maxlength: 100 });
  const role = h("select", { id: "staff-role" }, ...["duty", "supervisor", "admin"].map((r) => h("option", { value: r }, t("role." + r))));
  const out = h("div", { "aria-live": "polite", id: "staff-new" });
  const form = h("form", {}, h("h3", {}, t("addstaff")),
    h("label", { for: "staff-user" }, t("username")), user,
    h("label", { for: "staff-name" }, t("staffname")), name,
    h("label", { for: "staff-role" }, t("role")), role,
    h("p", {}, h("button", { type: "submit", class: "primary" }, t("addstaff"))), out);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const made = await api("POST", "/console/api/staff", { username: user.value, name: name.value, role: role.value });
      await staff();  // the list with the new account, then its password, shown once
      $("staff-new").replaceChildren(h("p", {}, t("initialpw", { user: made.username })), h("p", { class: "code" }, made.password));
    } catch (err) { showError(err); }
  });
  const rows = data.items.map((s) => h("tr", { "data-user": s.username },
    h("td", {}, s.username), h("td", {}, s.name), h("td", {}, t("role." + s.role)),
    h("td", {}, s.disabled_at ? t("disabled", { at: stamp(s.disabled_at) }) : t("active")),
    h("td", {}, s.disabled_at || s.username === me.username ? "" : h("button", { type: "button", onclick: async () => {
      if (!window.confirm(t("confirmdisable", { user: s.username }))) return;
      try { await api("POST", `/console/api/staff/${encodeURIComponent(s.username)}/disable`); await staff(); }
      catch (err) { showError(err); }
    } }, t("disable")))));
  const list = h("table", {}, h("caption", {}, t("tab.staff")),
    h("tr", {}, ...[t("username"), t("staffname"), t("role"), "", ""].map((c) => h("th", { scope: "col" }, c))), ...rows);
  const audit = h("ul", {}, ...data.audit.map((a) => h("li", {}, stamp(a.at), " · ", a.actor, " ", t("staffact." + a.action), " ", a.username)));
  $("main").replaceChildren(h("h2", {}, t("tab.staff")), list, form, h("h3", {}, t("staffaudit")), audit);
}

const VIEWS = { queue: renderQueue, households, stats, codes, staff };

async function show(name) {
  view = name;
  chrome();
  try { await VIEWS[name](); } catch (err) { showError(err); }
}

// Alert kinds' names are the interface's (alerts.yaml), sent with the signed-in staff member.
function learnKinds(kinds) {
  for (const [id, label] of Object.entries(kinds || {})) {
    STRINGS["zh-CN"]["kind." + id] = label["zh-CN"];
    STRINGS.en["kind." + id] = label.en;
  }
}

const MIN_PASSWORD = 8;  // community/store.py MIN_PASSWORD

// Forced after an admin made the account (the admin saw its initial password), offered otherwise.
function passwordView(forced) {
  const field = (id, label, auto) => [h("label", { for: id }, label),
    h("input", { id, type: "password", autocomplete: auto, required: true, ...(auto === "new-password" ? { minlength: MIN_PASSWORD } : {}) })];
  const form = h("form", { class: "signin", id: "password-form" },
    h("h2", {}, t("changepw")),
    forced ? h("p", { class: "notice" }, t("mustchange")) : null,
    ...field("pw-current", t("currentpw"), "current-password"),
    ...field("pw-new", t("newpw", { n: MIN_PASSWORD }), "new-password"),
    ...field("pw-repeat", t("repeatpw"), "new-password"),
    h("p", {}, h("button", { type: "submit", class: "primary" }, t("changepw")),
      forced ? null : " ", forced ? null : h("button", { type: "button", onclick: () => show(view) }, t("cancel"))));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if ($("pw-new").value !== $("pw-repeat").value) { showError(t("mismatch")); $("pw-repeat").focus(); return; }
    try {
      await api("POST", "/console/api/password", { current: $("pw-current").value, new: $("pw-new").value });
      me = await api("GET", "/console/api/me");
      await start();
      say(t("pwchanged"));
    } catch (err) {
      const field = err.data && err.data.field;
      showError(field === "current" ? t("wrongcurrent") : field === "new" ? t("badnew", { n: MIN_PASSWORD }) : err);
    }
  });
  $("main").replaceChildren(form);
  $("pw-current").focus();
}

async function start() {
  if (!me.kinds) me = await api("GET", "/console/api/me");
  learnKinds(me.kinds);
  chrome();
  if (me.must_change_password) { passwordView(true); return; }
  connect();
  await show("queue");
}

document.addEventListener("DOMContentLoaded", async () => {
  $("lang").addEventListener("click", () => { lang = lang === "en" ? "zh-CN" : "en"; localStorage.setItem("lang", lang); me ? show(view) : (chrome(), signinView()); });
  $("changepw").addEventListener("click", () => passwordView(false));
  $("signout").addEventListener("click", async () => { await api("DELETE", "/console/api/session").catch(() => null); me = null; if (source) source.close(); chrome(); signinView(); });
  for (const b of $("tabs").querySelectorAll("button")) b.addEventListener("click", () => show(b.dataset.view));
  try { me = await api("GET", "/console/api/me"); await start(); } catch (err) { chrome(); signinView(); }
  setInterval(renderQueue, 60000); // ages move on
});
