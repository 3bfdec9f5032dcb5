// Inline SVG charts of the supervisor console: calls per bucket (answered, abandoned, no agent,
// stacked), horizontal bars (time per status, decisions) and the service level against its target.
// No library: a few rectangles and lines.

const NS = "http://www.w3.org/2000/svg";

function el(name, attrs = {}, text = null) {
  const node = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== null) node.textContent = text;
  return node;
}

function niceMax(value) {
  if (value <= 4) return 4;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (step * magnitude >= value) return step * magnitude;
  }
  return 10 * magnitude;
}

const KINDS = [
  ["answered", "#2f9e55"],
  ["abandoned", "#d9534f"],
  ["no_agent", "#e0a100"],
];

/**
 * Stacked bars per bucket: answered, abandoned, no agent. series: [{label, answered, abandoned, no_agent}];
 * labels: {title, answered, abandoned, no_agent}. Each bar is a <g data-bucket> with <rect data-kind>.
 */
export function seriesChart(series, labels) {
  const width = 900;
  const height = 220;
  const left = 38;
  const bottom = 26;
  const top = 10;
  const plotH = height - top - bottom;
  const count = Math.max(1, series.length);
  const slot = (width - left - 6) / count;
  const max = niceMax(Math.max(1, ...series.map((b) => b.answered + b.abandoned + b.no_agent)));
  const svg = el("svg", { class: "chart", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": labels.title });
  svg.append(el("title", {}, labels.title));
  for (let i = 0; i <= 4; i++) {
    const value = (max * i) / 4;
    const y = top + plotH - (plotH * i) / 4;
    svg.append(el("line", { x1: left, x2: width - 4, y1: y, y2: y, stroke: "#e3e7ec" }));
    svg.append(el("text", { x: left - 6, y: y + 4, "text-anchor": "end" }, Number.isInteger(value) ? value : value.toFixed(1)));
  }
  const every = Math.max(1, Math.ceil(count / 12));
  series.forEach((bucket, n) => {
    const x = left + n * slot + slot * 0.15;
    const w = Math.max(1, slot * 0.7);
    const group = el("g", { "data-bucket": bucket.label });
    group.append(
      el("title", {}, `${bucket.label}: ${KINDS.map(([kind]) => `${labels[kind]} ${bucket[kind]}`).join(", ")}`),
    );
    let base = top + plotH;
    for (const [kind, colour] of KINDS) {
      const value = bucket[kind];
      if (!value) continue;
      const barH = (plotH * value) / max;
      group.append(el("rect", { x, y: base - barH, width: w, height: barH, fill: colour, "data-kind": kind, "data-value": value }));
      base -= barH;
    }
    svg.append(group);
    if (n % every === 0) {
      const text = bucket.label.length > 10 ? bucket.label.slice(bucket.label.length - 5) : bucket.label.slice(5);
      svg.append(el("text", { x: x + w / 2, y: height - 8, "text-anchor": "middle" }, text));
    }
  });
  svg.append(el("line", { x1: left, x2: width - 4, y1: top + plotH, y2: top + plotH, stroke: "#9aa5b1" }));
  return svg;
}

/** Horizontal bars: items [{key, label, value, text}] (text: what is written beside the bar). */
export function barList(items, title) {
  const width = 440;
  const row = 22;
  const labelW = 150;
  const height = Math.max(row, items.length * row) + 4;
  const max = Math.max(1e-9, ...items.map((i) => i.value));
  const svg = el("svg", { class: "chart", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": title });
  svg.append(el("title", {}, title));
  items.forEach((item, n) => {
    const y = n * row + 2;
    const barW = ((width - labelW - 70) * item.value) / max;
    svg.append(el("text", { x: 0, y: y + 14 }, item.label));
    svg.append(el("rect", { x: labelW, y: y + 3, width: Math.max(0, barW), height: row - 8, rx: 3, fill: "#0b5cad", "data-kind": item.key, "data-value": item.value }));
    svg.append(el("text", { x: labelW + barW + 6, y: y + 14 }, item.text));
  });
  return svg;
}

/** A 0-100 % bar with the level and a marker at the target. level may be null (no calls). */
export function serviceLevelGauge(level, target, label) {
  const width = 600;
  const height = 46;
  const left = 4;
  const barW = width - 8;
  const svg = el("svg", { class: "chart", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label });
  svg.append(el("title", {}, label));
  svg.append(el("rect", { x: left, y: 8, width: barW, height: 18, rx: 4, fill: "#e8ecf1" }));
  if (level !== null && level !== undefined) {
    const good = level >= target;
    svg.append(
      el("rect", { x: left, y: 8, width: (barW * Math.min(100, level)) / 100, height: 18, rx: 4, fill: good ? "#2f9e55" : "#e0a100", "data-level": level }),
    );
  }
  const tx = left + (barW * target) / 100;
  svg.append(el("line", { x1: tx, x2: tx, y1: 2, y2: 32, stroke: "#0f2940", "stroke-width": 2, "data-target": target }));
  svg.append(el("text", { x: tx, y: 44, "text-anchor": "middle" }, `${target}%`));
  return svg;
}
