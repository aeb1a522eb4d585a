// Line charts as SVG, for the benchmark's figures (e.g. Route 53 calls vs machines, seconds until the records are
// exact vs machines; r53dyn against the seed script). Hand-written rather than a charting library: no library here
// renders SVG in Node without a browser or a DOM shim short of a large dependency tree (Vega), and a benchmark
// figure needs only panels of a few series. The output is deterministic: the same chart gives the same bytes.
//
// Every point is drawn as <circle data-series=… data-x=… data-y=…>, so tests and readers can recover the data.
import { writeFileSync } from 'node:fs';

export interface Point {
  x: number;
  y: number;
}

export interface Series {
  name: string;
  points: Point[];
}

export type Scale = 'linear' | 'log';

export interface Panel {
  title: string;
  xLabel: string;
  yLabel: string;
  xScale?: Scale;
  yScale?: Scale;
  series: Series[];
}

export interface Chart {
  title: string;
  panels: Panel[];
  /** Width of the whole figure and height of each panel, in pixels (defaults 720 and 360). */
  width?: number;
  panelHeight?: number;
}

const titleHeight = 40;
const margin = { left: 80, right: 24, top: 36, bottom: 56 };
// distinguishable without colour too: each series has its own dash pattern
const palette = [
  { color: '#1f77b4', dash: '' },
  { color: '#d62728', dash: '6 4' },
  { color: '#2ca02c', dash: '2 3' },
  { color: '#9467bd', dash: '8 3 2 3' },
];

/** A number as an SVG attribute: at most 2 decimals, no trailing zeros, no "-0". */
export const num = (value: number): string => {
  const fixed = Number(value.toFixed(2));
  return String(Object.is(fixed, -0) ? 0 : fixed);
};

const escapeXml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A tick label: 1500 -> 1.5k, 2000000 -> 2M, 0.25 -> 0.25. */
export const tickLabel = (value: number): string => {
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${Number((value / 1e6).toPrecision(3))}M`;
  if (abs >= 1e3) return `${Number((value / 1e3).toPrecision(3))}k`;
  return String(Number(value.toPrecision(3)));
};

interface Axis {
  /** value -> pixel */
  at: (value: number) => number;
  ticks: number[];
}

/** Ticks at 1, 2 or 5 × 10^k covering [min, max], about five of them; a linear axis starts at 0 for positive data. */
function linearAxis(values: number[], from: number, to: number): Axis {
  const low = Math.min(0, ...values);
  const high = Math.max(...values);
  const span = high > low ? high - low : Math.abs(high) || 1;
  const rough = span / 5;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = ([1, 2, 5, 10].find((m) => m * power >= rough) ?? 10) * power;
  const start = Math.floor(low / step) * step;
  const end = Math.max(Math.ceil(high / step) * step, start + step);
  const ticks: number[] = [];
  for (let i = 0; start + i * step <= end + step / 1e9; i++)
    ticks.push(Number((start + i * step).toPrecision(12)));
  return { at: (value) => from + ((value - start) / (end - start)) * (to - from), ticks };
}

/** Ticks at the powers of ten around [min, max]; every value must be positive. */
function logAxis(values: number[], from: number, to: number, what: string): Axis {
  const bad = values.find((v) => !(v > 0));
  if (bad !== undefined) {
    throw new Error(`a log scale needs positive values, and ${what} has ${bad}`);
  }
  const low = Math.floor(Math.log10(Math.min(...values)));
  const high = Math.max(Math.ceil(Math.log10(Math.max(...values))), low + 1);
  const ticks = Array.from({ length: high - low + 1 }, (_, i) => 10 ** (low + i));
  return { at: (value) => from + ((Math.log10(value) - low) / (high - low)) * (to - from), ticks };
}

/** A panel's x or y axis over its points, from one pixel to another, on the scale the panel asks for. */
function axis(panel: Panel, points: Point[], dimension: 'x' | 'y', from: number, to: number): Axis {
  const values = points.map((p) => p[dimension]);
  return panel[`${dimension}Scale`] === 'log'
    ? logAxis(values, from, to, `the ${dimension} axis of "${panel.title}"`)
    : linearAxis(values, from, to);
}

/** The plotting area of a panel, in pixels. */
interface Box {
  left: number;
  right: number;
  top: number;
  bottom: number;
}

function renderPanel(panel: Panel, index: number, top: number, width: number, height: number): string {
  const points = panel.series.flatMap((s) => s.points);
  if (points.length === 0) {
    throw new Error(`panel "${panel.title}" has no points`);
  }
  const box: Box = {
    left: margin.left,
    right: width - margin.right,
    top: top + margin.top,
    bottom: top + height - margin.bottom,
  };
  const x = axis(panel, points, 'x', box.left, box.right);
  const y = axis(panel, points, 'y', box.bottom, box.top);
  return [
    `<g class="panel" data-panel="${index}" data-x-scale="${panel.xScale ?? 'linear'}" \
data-y-scale="${panel.yScale ?? 'linear'}">`,
    `<text class="panel-title" x="${num((box.left + box.right) / 2)}" y="${num(top + 22)}" text-anchor="middle" \
font-size="15" font-weight="bold">${escapeXml(panel.title)}</text>`,
    ...renderAxes(panel, box, x, y),
    ...renderSeries(panel, box, x, y),
    '</g>',
  ].join('\n');
}

/** Grid lines, ticks, the frame and the axis labels. */
function renderAxes(panel: Panel, box: Box, x: Axis, y: Axis): string[] {
  const { left, right, top: plotTop, bottom } = box;
  const out: string[] = [];
  for (const tick of y.ticks) {
    const py = num(y.at(tick));
    out.push(
      `<line class="grid" x1="${num(left)}" y1="${py}" x2="${num(right)}" y2="${py}" stroke="#e5e5e5"/>`,
    );
    out.push(
      `<text class="y-tick" x="${num(left - 8)}" y="${py}" text-anchor="end" dominant-baseline="middle" \
font-size="11">${tickLabel(tick)}</text>`,
    );
  }
  for (const tick of x.ticks) {
    const px = num(x.at(tick));
    out.push(
      `<line class="tick" x1="${px}" y1="${num(bottom)}" x2="${px}" y2="${num(bottom + 5)}" stroke="#333"/>`,
    );
    out.push(
      `<text class="x-tick" x="${px}" y="${num(bottom + 18)}" text-anchor="middle" font-size="11">${tickLabel(tick)}</text>`,
    );
  }
  out.push(
    `<rect class="frame" x="${num(left)}" y="${num(plotTop)}" width="${num(right - left)}" \
height="${num(bottom - plotTop)}" fill="none" stroke="#333"/>`,
  );
  out.push(
    `<text class="x-label" x="${num((left + right) / 2)}" y="${num(bottom + 42)}" text-anchor="middle" \
font-size="13">${escapeXml(panel.xLabel)}</text>`,
  );
  const yMid = num((plotTop + bottom) / 2);
  out.push(
    `<text class="y-label" x="${num(left - 58)}" y="${yMid}" text-anchor="middle" font-size="13" \
transform="rotate(-90 ${num(left - 58)} ${yMid})">${escapeXml(panel.yLabel)}</text>`,
  );
  return out;
}

/** Each series as a line with its points, then the legend on a pale box in the top-left corner, over the lines. */
function renderSeries(panel: Panel, box: Box, x: Axis, y: Axis): string[] {
  const { left, top: plotTop } = box;
  const out: string[] = [];
  const longest = Math.max(...panel.series.map((s) => s.name.length));
  const legend = [
    `<rect class="legend" x="${num(left + 6)}" y="${num(plotTop + 6)}" width="${num(48 + longest * 7)}" \
height="${num(panel.series.length * 18 + 2)}" fill="#fff" fill-opacity="0.85" stroke="#ccc"/>`,
  ];
  panel.series.forEach((series, s) => {
    const { color, dash: pattern } = palette[s % palette.length] ?? { color: '#000', dash: '' };
    const sorted = [...series.points].sort((a, b) => a.x - b.x);
    const coords = sorted.map((p) => `${num(x.at(p.x))},${num(y.at(p.y))}`).join(' ');
    const dash = pattern ? ` stroke-dasharray="${pattern}"` : '';
    const name = escapeXml(series.name);
    out.push(`<g class="series" data-series="${name}">`);
    out.push(`<polyline points="${coords}" fill="none" stroke="${color}" stroke-width="2"${dash}/>`);
    for (const p of sorted) {
      out.push(
        `<circle cx="${num(x.at(p.x))}" cy="${num(y.at(p.y))}" r="3" fill="${color}" \
data-series="${name}" data-x="${p.x}" data-y="${p.y}"/>`,
      );
    }
    out.push('</g>');
    const ly = plotTop + 16 + s * 18;
    legend.push(`<g class="legend-entry" data-series="${name}">`);
    legend.push(
      `<line x1="${num(left + 12)}" y1="${num(ly)}" x2="${num(left + 40)}" y2="${num(ly)}" stroke="${color}" \
stroke-width="2"${dash}/>`,
    );
    legend.push(
      `<text x="${num(left + 46)}" y="${num(ly)}" dominant-baseline="middle" font-size="12">${name}</text>`,
    );
    legend.push('</g>');
  });
  out.push(...legend);
  return out;
}

/** The chart as an SVG document: a title, then its panels one below the other. */
export function renderChart(chart: Chart): string {
  const width = chart.width ?? 720;
  const panelHeight = chart.panelHeight ?? 360;
  const height = titleHeight + chart.panels.length * panelHeight;
  const panels = chart.panels.map((panel, i) =>
    renderPanel(panel, i, titleHeight + i * panelHeight, width, panelHeight),
  );
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" \
font-family="sans-serif" role="img">`,
    `<title>${escapeXml(chart.title)}</title>`,
    `<rect class="background" x="0" y="0" width="${width}" height="${height}" fill="#fff"/>`,
    `<text class="chart-title" x="${num(width / 2)}" y="26" text-anchor="middle" font-size="18" \
font-weight="bold">${escapeXml(chart.title)}</text>`,
    ...panels,
    '</svg>',
    '',
  ].join('\n');
}

/** Writes the chart to `path` as SVG; returns the text written. */
export function writeChart(path: string, chart: Chart): string {
  const svg = renderChart(chart);
  writeFileSync(path, svg);
  return svg;
}
