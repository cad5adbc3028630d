// Small SVG charts, drawn by hand: a bar chart, a sparkline and a time-series line.
// SVG keeps the text selectable and readable by screen readers, scales with the
// page, and needs no library: these charts have at most a few hundred points.

import { h, s } from "./dom.js";

const PAD = { top: 10, right: 12, bottom: 24, left: 44 };

function niceMax(value) {
  if (value <= 0) return 1;
  const step = 10 ** Math.floor(Math.log10(value));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * step >= value) return m * step;
  return 10 * step;
}

function number(value) {
  return Number(value).toLocaleString(undefined, { maximumFractionDigits: 2 });
}

/** Bars with a value axis: labels[i] under bar i, titles[i] its tooltip. */
export function barChart({ values, labels, titles, summary, width = 640, height = 170 }) {
  const max = niceMax(Math.max(0, ...values));
  const plotW = width - PAD.left - PAD.right;
  const plotH = height - PAD.top - PAD.bottom;
  const step = plotW / Math.max(values.length, 1);
  const svg = s("svg", {
    viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": summary, class: "bars",
  });
  for (const tick of [0, max / 2, max]) {
    const y = PAD.top + plotH - (tick / max) * plotH;
    svg.append(
      s("line", { x1: PAD.left, x2: width - PAD.right, y1: y, y2: y, class: "grid" }),
      s("text", { x: PAD.left - 6, y: y + 4, class: "axis", "text-anchor": "end" }, number(tick)),
    );
  }
  const every = Math.ceil(values.length / 8);
  values.forEach((value, i) => {
    const barH = (value / max) * plotH;
    const x = PAD.left + i * step;
    svg.append(s("rect", {
      x: x + step * 0.15, y: PAD.top + plotH - barH, width: step * 0.7, height: barH,
      class: value ? "bar" : "bar empty",
    }, s("title", {}, titles[i])));
    if (i % every === 0) {
      svg.append(s("text", {
        x: x + step / 2, y: height - 6, class: "axis", "text-anchor": "middle",
      }, labels[i]));
    }
  });
  return svg;
}

/** A tiny bar sparkline; the numbers are given to screen readers in the label. */
export function sparkline(values, summary) {
  const width = 120;
  const height = 22;
  const max = Math.max(1, ...values);
  const step = width / Math.max(values.length, 1);
  const svg = s("svg", {
    viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-label": summary,
    class: "sparkline",
  });
  values.forEach((value, i) => {
    const barH = value ? Math.max(2, (value / max) * height) : 1;
    svg.append(s("rect", {
      x: i * step + step * 0.1, y: height - barH, width: step * 0.8, height: barH,
      class: value ? "bar" : "bar empty",
    }));
  });
  return svg;
}

const day = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });
const hour = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });

/**
 * A time series: points [{at: unix seconds, value, title, mine}] joined by a line;
 * points marked `mine` (this story's) are drawn larger.
 */
export function lineChart({ points, summary, width = 640, height = 220 }) {
  if (!points.length) return h("p", { class: "muted" }, "No figures of this series in memory yet.");
  const xs = points.map((p) => p.at);
  const ys = points.map((p) => p.value);
  let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  if (x0 === x1) [x0, x1] = [x0 - 3600, x1 + 3600];
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const spread = y1 - y0 || Math.abs(y1) * 0.1 || 1;
  const step = niceMax(spread / 3);
  [y0, y1] = [Math.floor((y0 - spread * 0.1) / step) * step, Math.ceil((y1 + spread * 0.1) / step) * step];
  const plotW = width - PAD.left - PAD.right;
  const plotH = height - PAD.top - PAD.bottom;
  const X = (t) => PAD.left + ((t - x0) / (x1 - x0)) * plotW;
  const Y = (v) => PAD.top + plotH - ((v - y0) / (y1 - y0)) * plotH;
  const svg = s("svg", {
    viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": summary, class: "line-chart",
  });
  for (let v = y0; v <= y1 + step / 2; v += step) {
    svg.append(
      s("line", { x1: PAD.left, x2: width - PAD.right, y1: Y(v), y2: Y(v), class: "grid" }),
      s("text", { x: PAD.left - 6, y: Y(v) + 4, class: "axis", "text-anchor": "end" }, number(v)),
    );
  }
  const sameDay = day.format(new Date(x0 * 1000)) === day.format(new Date(x1 * 1000));
  for (let i = 0; i <= 2; i += 1) {
    const t = x0 + ((x1 - x0) * i) / 2;
    const when = new Date(t * 1000);
    svg.append(s("text", {
      x: X(t), y: height - 6, class: "axis", "text-anchor": ["start", "middle", "end"][i],
    }, sameDay ? hour.format(when) : day.format(when)));
  }
  svg.append(s("polyline", {
    points: points.map((p) => `${X(p.at).toFixed(1)},${Y(p.value).toFixed(1)}`).join(" "),
    class: "line",
  }));
  for (const p of points) {
    svg.append(s("circle", {
      cx: X(p.at), cy: Y(p.value), r: p.mine ? 5 : 3, class: p.mine ? "point mine" : "point",
    }, s("title", {}, p.title)));
  }
  return svg;
}
