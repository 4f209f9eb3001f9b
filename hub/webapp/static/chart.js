// One measured property over 24 hours or 7 days, drawn by uPlot (vendor/uplot, MIT, from npm).
// Axis text is large (15 px canvas font), times on a 24-hour clock, the value's unit on the axis.
import uPlot from "/static/vendor/uplot/uPlot.esm.js";
import { h, lang } from "/static/lib.js";

const FONT = "15px 'Noto Sans CJK SC', 'WenQuanYi Micro Hei', sans-serif";
const INK = "#1f1f1f";

function timeLabel(seconds, span) {
  const d = new Date(seconds * 1000);
  if (span > 2 * 86400) return d.toLocaleDateString(lang, { month: "numeric", day: "numeric" });
  return d.toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
}

// points: [{time, value}] oldest first; a sensor's value holds until its next report (stepped)
export function lineChart(points, { title, unit, from, to }) {
  const box = h("figure", { class: "chart", role: "img", "aria-label": title });
  const xs = points.map((p) => Math.max(from.getTime(), new Date(p.time).getTime()) / 1000);
  const ys = points.map((p) => p.value);
  if (ys.length) { xs.push(to.getTime() / 1000); ys.push(ys[ys.length - 1]); }
  const span = (to - from) / 1000;
  const draw = () => {
    box.replaceChildren();
    const width = Math.max(280, box.clientWidth || 320);
    const opts = {
      width, height: 220, legend: { show: false }, cursor: { show: false },
      scales: { x: { time: true, range: () => [from.getTime() / 1000, to.getTime() / 1000] },
        y: { range: (u, lo, hi) => (lo === hi ? [lo - 1, hi + 1] : [lo - (hi - lo) * 0.1, hi + (hi - lo) * 0.1]) } },
      axes: [
        { stroke: INK, font: FONT, size: 40, space: width < 500 ? 90 : 110, grid: { stroke: "#d0d0d0" },
          values: (u, splits) => splits.map((s) => timeLabel(s, span)) },
        { stroke: INK, font: FONT, size: 64, grid: { stroke: "#d0d0d0" },
          values: (u, splits) => splits.map((v) => new Intl.NumberFormat(lang, { maximumFractionDigits: 1 }).format(v) + (unit ? unit : "")) },
      ],
      series: [{}, { stroke: "#0a4a94", width: 3, paths: uPlot.paths.stepped({ align: 1 }), points: { show: ys.length < 60, size: 10, fill: "#0a4a94" } }],
    };
    new uPlot(opts, [xs, ys], box);
  };
  // drawn once it has a width; again when the screen turns
  requestAnimationFrame(draw);
  new ResizeObserver(() => { if (box.isConnected && Math.abs((box.firstChild?.clientWidth || 0) - box.clientWidth) > 20) draw(); }).observe(box);
  return box;
}
