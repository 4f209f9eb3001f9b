// Words for what the hub says in ids: capability, property and enum-value labels from the
// catalog, units, rooms (the resident's names, else common defaults), actors. Nothing raw.
import { lang, t } from "/static/lib.js";

let catalog = new Map();
let roomNames = {};

export function setCatalog(caps) { catalog = new Map(caps.map((c) => [c.id, c])); }
export function setRoomNames(names) { roomNames = names || {}; }
export function capDef(cap) { return catalog.get(cap); }
export function propDef(cap, prop) { return catalog.get(cap)?.properties?.find((p) => p.name === prop); }

// a catalog label object {en, "zh-CN"} in the app's language
export function word(label, fallback) {
  if (label && typeof label === "object") return label[lang] || label.en || fallback;
  return fallback;
}

export function capLabel(cap) { return word(catalog.get(cap)?.label, t("cap.unknown")); }
export function propLabel(cap, prop) { return word(propDef(cap, prop)?.label, capLabel(cap)); }

// UCUM symbols as people write them
const UNIT_SHOWN = { Cel: "°C", "kW.h": "kWh", "[ppm]": "ppm", "ug/m3": "µg/m³", "mg/m3": "mg/m³", "/cm3": "/cm³",
  "Bq/m3": "Bq/m³", m3: "m³", "m3/h": "m³/h", "dB[SPL]": "dB", "dB[mW]": "dBm", deg: "°", "1": "", "/min": "/min" };
export function unit(symbol) { return symbol in UNIT_SHOWN ? UNIT_SHOWN[symbol] : (symbol || ""); }

const nf = () => new Intl.NumberFormat(lang, { maximumFractionDigits: 1 });

// one property's value in words, with its unit
export function show(value, cap, prop) {
  if (value === null || value === undefined) return "—";
  const def = propDef(cap, prop);
  if (typeof value === "boolean") {
    const sw = def?.access?.includes("write");
    return t(sw ? (value ? "value.on" : "value.off") : (value ? "value.yes" : "value.no"));
  }
  if (def?.enum_labels && def.enum_labels[value]) return word(def.enum_labels[value], t("value.other"));
  if (typeof value === "number") {
    const u = unit(def?.unit);
    return nf().format(value) + (u ? (u === "%" || u.startsWith("°") ? u : " " + u) : "");
  }
  if (typeof value === "string") return value;
  return t("value.other");
}

// room ids: what the resident named them, else the usual Chinese/English name, else the id in words
const ROOM_DEFAULTS = ["kitchen", "living_room", "bedroom", "master_bedroom", "bathroom", "toilet", "entrance", "hall",
  "hallway", "corridor", "dining_room", "study", "balcony", "garage", "utility"];
export function roomName(id) {
  if (!id) return t("home.noroom");
  if (roomNames[id]) return roomNames[id];
  if (ROOM_DEFAULTS.includes(id)) return t("room." + id);
  return t("room.other", id).replace("{id}", id.replace(/[_-]+/g, " "));
}

// "token:tok_1(session: phone)" / "resident:browser" / "outbox" -> who that is, in words
export function actor(by) {
  if (!by) return t("actor.someone");
  const tok = /^token:[^(]*\((.*)\)$/.exec(by);
  const name = tok ? tok[1] : by;
  const session = /^session: ?(.*)$/.exec(name);
  if (session) return t("actor.session");
  const resident = /^resident:(.*)$/.exec(name);
  if (resident) return t("actor.resident");
  // a community platform's staff member, as the platform names them (spec §9.4): a proper name
  const platform = /^platform:(.+)$/.exec(name);
  if (platform) return platform[1];
  const known = t("actor." + name, "");
  if (known) return known;
  return tok ? t("actor.app") : t("actor.system");
}

// what a device is, from the words vendors use in English names (longest first), in Chinese
const NOUNS = [["smoke alarm", "烟雾报警器"], ["co alarm", "一氧化碳报警器"], ["gas detector", "燃气报警器"],
  ["water leak", "水浸传感器"], ["shut-off valve", "总水阀"], ["water meter", "水表"], ["siren", "声光报警器"],
  ["sos", "紧急呼叫按钮"], ["door contact", "门磁"], ["lock", "门锁"], ["motion sensor", "人体感应器"],
  ["fall-detection radar", "跌倒检测雷达"], ["bed sensor", "床垫传感器"], ["ceiling light", "吸顶灯"],
  ["night light", "小夜灯"], ["lamp", "台灯"], ["light", "灯"], ["tv plug", "电视插座"], ["plug", "插座"],
  ["thermometer", "温湿度计"], ["thermostat", "温控器"], ["blind", "窗帘"], ["camera", "摄像头"]];

// a device's name for people: an ASCII vendor name reads as room + what it is on a Chinese page
export function deviceName(d, inRoom = false) {
  if (lang === "en" || /[^\x00-\x7f]/.test(d.name)) return d.name;
  const lower = d.name.toLowerCase();
  const noun = NOUNS.find(([en]) => lower.includes(en))?.[1];
  const cap = d.components?.flatMap((c) => c.capabilities.map((x) => x.id)).find((id) => catalog.has(id));
  // under its room's heading a device needs no room in its name
  return (d.room && !inRoom ? roomName(d.room) : "") + (noun || (cap ? capLabel(cap) : t("device.generic")));
}
