// Inline SVG charts of the supervisor console: calls per hour (answered and missed, stacked) and the
// service level against its target. No library: a few rectangles and lines.

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

/** hours: [{hour, answered, missed}] (24 rows). labels: {title, answered, missed, hour}. */
export function hourlyChart(hours, labels) {
  const width = 600;
  const height = 210;
  const left = 34;
  const bottom = 24;
  const top = 10;
  const plotH = height - top - bottom;
  const slot = (width - left - 6) / 24;
  const max = niceMax(Math.max(1, ...hours.map((h) => h.answered + h.missed)));
  const svg = el("svg", { class: "chart", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": labels.title });
  svg.append(el("title", {}, labels.title));
  for (let i = 0; i <= 4; i++) {
    const value = (max * i) / 4;
    const y = top + plotH - (plotH * i) / 4;
    svg.append(el("line", { x1: left, x2: width - 4, y1: y, y2: y, stroke: "#e3e7ec" }));
    svg.append(el("text", { x: left - 6, y: y + 4, "text-anchor": "end" }, Number.isInteger(value) ? value : value.toFixed(1)));
  }
  for (const row of hours) {
    const x = left + row.hour * slot + slot * 0.15;
    const w = slot * 0.7;
    const answeredH = (plotH * row.answered) / max;
    const missedH = (plotH * row.missed) / max;
    const base = top + plotH;
    const group = el("g", { "data-hour": row.hour });
    group.append(el("title", {}, `${labels.hour} ${row.hour}: ${labels.answered} ${row.answered}, ${labels.missed} ${row.missed}`));
    if (row.answered) group.append(el("rect", { x, y: base - answeredH, width: w, height: answeredH, fill: "#2f9e55", "data-kind": "answered" }));
    if (row.missed) group.append(el("rect", { x, y: base - answeredH - missedH, width: w, height: missedH, fill: "#d9534f", "data-kind": "missed" }));
    svg.append(group);
    if (row.hour % 2 === 0) {
      svg.append(el("text", { x: x + w / 2, y: height - 8, "text-anchor": "middle" }, String(row.hour).padStart(2, "0")));
    }
  }
  svg.append(el("line", { x1: left, x2: width - 4, y1: top + plotH, y2: top + plotH, stroke: "#9aa5b1" }));
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
