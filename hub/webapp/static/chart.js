// A small SVG line chart of one numeric property over the last 24 hours (no library, no build).
const NS = "http://www.w3.org/2000/svg";
const W = 600, H = 180, PAD = 36;

function el(tag, attrs, text) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

// points: [{time: ISO string, value: number}], title: accessible name of the chart
export function lineChart(points, title, from, to) {
  const svg = el("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title });
  svg.append(el("title", {}, title));
  const t0 = from.getTime(), t1 = to.getTime();
  const values = points.map((p) => p.value);
  let lo = Math.min(...values), hi = Math.max(...values);
  if (!isFinite(lo)) { lo = 0; hi = 1; }
  if (hi === lo) { hi += 1; lo -= 1; }
  const x = (t) => PAD + ((t - t0) / (t1 - t0)) * (W - 2 * PAD);
  const y = (v) => H - PAD + 12 - ((v - lo) / (hi - lo)) * (H - 2 * PAD);
  svg.append(el("text", { x: 2, y: y(hi) + 4 }, fmtNum(hi)), el("text", { x: 2, y: y(lo) + 4 }, fmtNum(lo)));
  svg.append(el("line", { x1: PAD, x2: W - PAD, y1: H - 20, y2: H - 20, stroke: "#8a8a8a" }));
  for (let i = 0; i <= 4; i++) {
    const t = t0 + ((t1 - t0) * i) / 4;
    const label = new Date(t).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    svg.append(el("text", { x: x(t) - 16, y: H - 4 }, label));
  }
  // a step line: a sensor's value holds until the next report
  const coords = [];
  let prev = null;
  for (const p of points) {
    const t = Math.max(t0, new Date(p.time).getTime());
    if (prev !== null) coords.push(`${x(t)},${y(prev)}`);
    coords.push(`${x(t)},${y(p.value)}`);
    prev = p.value;
  }
  if (prev !== null) coords.push(`${x(t1)},${y(prev)}`);
  svg.append(el("polyline", { points: coords.join(" ") }));
  return svg;
}

function fmtNum(v) { return Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(1); }
