// Enrolling with a community platform by the one-time code its centre gave the resident
// (spec §9.4, DHI 1.1). Self-contained: its own strings (zh-CN first, English), one form.
// The hub fetches the webhook address and secret from the platform: nothing to copy by hand.
import { api, h, lang } from "/static/lib.js";

const STRINGS = {
  "zh-CN": {
    title: "用登记码加入社区服务", intro: "社区服务中心给您一个登记码和平台地址。填写后，家里的网关会自动连接平台；您可以随时在上面撤回授权。",
    platform: "平台地址（由服务中心提供）", code: "登记码", name: "住户称呼（服务中心看到的名字）", address: "地址（可不填）",
    contact: "紧急联系人姓名（可不填）", phone: "联系人电话（可不填）", kinds: "允许分享的警报", submit: "登记并授权",
    done: "已登记：{name} 会收到您选择的警报。", failed: "登记失败：{detail}",
  },
  en: {
    title: "Join a community service with a code", intro: "Your community centre gives you an enrolment code and the platform's address. Once you submit, this hub connects to the platform by itself; you can withdraw consent above at any time.",
    platform: "Platform address (from the centre)", code: "Enrolment code", name: "Household name (as the centre will see it)", address: "Address (optional)",
    contact: "Emergency contact name (optional)", phone: "Contact phone (optional)", kinds: "Alerts you allow to be shared", submit: "Enrol and grant",
    done: "Enrolled: {name} will receive the alerts you chose.", failed: "Enrolment failed: {detail}",
  },
};
const KINDS = {
  smoke: ["烟雾", "Smoke"], co: ["一氧化碳", "Carbon monoxide"], gas_leak: ["燃气泄漏", "Gas leak"],
  water_leak: ["漏水", "Water leak"], sos: ["紧急呼叫", "SOS call"], fall: ["跌倒", "Fall"],
  inactivity: ["长时间无活动", "No activity"],
};
const s = (key, vars) => {
  let text = (STRINGS[lang] || STRINGS["zh-CN"])[key];
  for (const [k, v] of Object.entries(vars || {})) text = text.replace("{" + k + "}", v);
  return text;
};

function field(id, label, attrs) {
  return [h("label", { for: id }, label), h("input", { id, ...attrs })];
}

export function enrolForm(onDone) {
  const status = h("p", { id: "enrol-status", role: "status" });
  const form = h("form", { class: "card", id: "enrol", "aria-labelledby": "enrol-title" },
    h("h2", { id: "enrol-title" }, s("title")),
    h("p", {}, s("intro")),
    field("enrol-platform", s("platform"), { type: "url", required: true, placeholder: "https://", autocomplete: "url" }),
    field("enrol-code", s("code"), { required: true, maxlength: 40, autocomplete: "off", autocapitalize: "characters" }),
    field("enrol-name", s("name"), { required: true, maxlength: 200 }),
    field("enrol-address", s("address"), { maxlength: 500, autocomplete: "street-address" }),
    field("enrol-contact", s("contact"), { maxlength: 100 }),
    field("enrol-phone", s("phone"), { type: "tel", maxlength: 100, autocomplete: "tel" }),
    h("fieldset", {}, h("legend", {}, s("kinds")),
      Object.entries(KINDS).map(([k, names]) => h("label", { class: "check" },
        h("input", { type: "checkbox", name: "enrol-kind", value: k, checked: ["smoke", "gas_leak", "sos", "fall"].includes(k) }),
        names[lang === "en" ? 1 : 0]))),
    h("button", { type: "submit", class: "primary" }, s("submit")),
    status);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const v = (id) => form.querySelector("#" + id).value.trim();
    const contact = v("enrol-contact") || v("enrol-phone") ? [{ name: v("enrol-contact"), phone: v("enrol-phone"), relation: "" }] : [];
    const body = {
      platform: v("enrol-platform"), code: v("enrol-code"),
      household: { name: v("enrol-name"), address: v("enrol-address"), contacts: contact },
      alert_kinds: [...form.querySelectorAll("input[name=enrol-kind]:checked")].map((i) => i.value),
    };
    try {
      const sub = await api("POST", "/enrolments", body);
      status.textContent = s("done", { name: sub.receiver.name });
      if (onDone) await onDone();
    } catch (err) {
      status.textContent = s("failed", { detail: err.message });
    }
  });
  return form;
}
