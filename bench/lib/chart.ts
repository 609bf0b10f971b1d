import type { ColdRow } from "./report.ts";

/**
 * The benchmark's picture (docs/performance.svg): every cold-start sample per variant on each Node, and
 * transfers over time under Bitrix24's rate limit. Plain SVG written by hand: no charting dependency.
 */
export interface ChartColdPanel {
  title: string;
  variants: { label: string; samples: number[]; highlight?: boolean }[];
}

export interface ChartSeries {
  label: string;
  /** Simulated seconds at which the 10th, 20th, … transfer was recorded. */
  timeline: number[];
  /** Transfers per point of the timeline. */
  step: number;
}

const WIDTH = 960;
const LABEL_W = 330;
const ROW_H = 22;
const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"];

const esc = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};
const niceStep = (range: number, ticks: number) => {
  const raw = range / ticks;
  const power = 10 ** Math.floor(Math.log10(raw));
  return ([1, 2, 5, 10].find((m) => m * power >= raw) ?? 10) * power;
};

export function renderChart(cold: ChartColdPanel[], throughput: ChartSeries[]): string {
  const parts: string[] = [];
  let y = 30;
  parts.push(
    `<text x="10" y="20" font-size="15" font-weight="bold">Cold start to the first confirmed transfer (ms; every sample a dot, the median a bar)</text>`,
  );
  // One stalled sample on a shared machine would squeeze everything else: the axis ends at the 98th
  // percentile of all samples, and slower ones sit at its right edge.
  const all = cold
    .flatMap((panel) => panel.variants.flatMap((variant) => variant.samples))
    .sort((a, b) => a - b);
  const max = Math.max(all[Math.floor(all.length * 0.98)] ?? 1, 1);
  const plotW = WIDTH - LABEL_W - 30;
  const scale = (ms: number) => LABEL_W + (Math.min(ms, max) / max) * plotW;
  const tick = niceStep(max, 8);
  for (const panel of cold) {
    y += 22;
    parts.push(`<text x="10" y="${y}" font-size="13" font-weight="bold">${esc(panel.title)}</text>`);
    const top = y + 8;
    panel.variants.forEach((variant, index) => {
      const rowY = top + index * ROW_H + ROW_H / 2;
      if (index % 2 === 0)
        parts.push(
          `<rect x="${LABEL_W}" y="${rowY - ROW_H / 2}" width="${plotW}" height="${ROW_H}" fill="#f4f4f4"/>`,
        );
      parts.push(
        `<text x="${LABEL_W - 8}" y="${rowY + 4}" font-size="11" text-anchor="end"${variant.highlight ? ' font-weight="bold"' : ""}>${esc(variant.label)}</text>`,
      );
      for (const sample of variant.samples) {
        parts.push(
          `<circle cx="${scale(sample).toFixed(1)}" cy="${rowY}" r="2.3" fill="${variant.highlight ? "#d62728" : "#1f77b4"}" fill-opacity="0.45"/>`,
        );
      }
      const mid = median(variant.samples);
      parts.push(
        `<line x1="${scale(mid).toFixed(1)}" x2="${scale(mid).toFixed(1)}" y1="${rowY - 8}" y2="${rowY + 8}" stroke="#000" stroke-width="2"/>`,
      );
      parts.push(
        `<text x="${(scale(mid) + 4).toFixed(1)}" y="${rowY - 4}" font-size="9">${mid.toFixed(0)}</text>`,
      );
    });
    const bottom = top + panel.variants.length * ROW_H;
    for (let t = 0; t <= max; t += tick) {
      parts.push(
        `<line x1="${scale(t).toFixed(1)}" x2="${scale(t).toFixed(1)}" y1="${top}" y2="${bottom}" stroke="#ccc" stroke-width="0.5"/>`,
      );
      parts.push(
        `<text x="${scale(t).toFixed(1)}" y="${bottom + 12}" font-size="10" text-anchor="middle">${t}</text>`,
      );
    }
    y = bottom + 16;
  }

  if (throughput.length > 0) {
    y += 30;
    parts.push(
      `<text x="10" y="${y}" font-size="15" font-weight="bold">Transfers confirmed by the portal over time, under the limit (burst 50, then 2 requests/s)</text>`,
    );
    const top = y + 15;
    const height = 220;
    const left = 70;
    const plotWidth = WIDTH - left - 220;
    const maxT = Math.max(...throughput.flatMap((series) => series.timeline), 1);
    const maxN = Math.max(...throughput.map((series) => series.timeline.length * series.step), 1);
    // Log time axis: batches finish in seconds, single calls in minutes.
    const minT = 0.1;
    const tx = (t: number) =>
      left + (Math.log10(Math.max(t, minT) / minT) / Math.log10(maxT / minT)) * plotWidth;
    const ty = (n: number) => top + height - (n / maxN) * height;
    parts.push(
      `<rect x="${left}" y="${top}" width="${plotWidth}" height="${height}" fill="none" stroke="#999"/>`,
    );
    for (const t of [0.1, 1, 10, 100, 1000].filter((t) => t <= maxT * 1.01)) {
      parts.push(
        `<line x1="${tx(t).toFixed(1)}" x2="${tx(t).toFixed(1)}" y1="${top}" y2="${top + height}" stroke="#ddd"/>`,
      );
      parts.push(
        `<text x="${tx(t).toFixed(1)}" y="${top + height + 14}" font-size="10" text-anchor="middle">${t} s</text>`,
      );
    }
    for (let n = 0; n <= maxN; n += niceStep(maxN, 5)) {
      parts.push(`<text x="${left - 6}" y="${ty(n) + 3}" font-size="10" text-anchor="end">${n}</text>`);
    }
    parts.push(
      `<text x="${left + plotWidth / 2}" y="${top + height + 30}" font-size="11" text-anchor="middle">simulated time since the start of the run (log scale)</text>`,
    );
    throughput.forEach((series, index) => {
      const color = COLORS[index % COLORS.length];
      const points = series.timeline.map(
        (t, i) => `${tx(t).toFixed(1)},${ty((i + 1) * series.step).toFixed(1)}`,
      );
      parts.push(`<polyline points="${points.join(" ")}" fill="none" stroke="${color}" stroke-width="2"/>`);
      const legendY = top + 14 + index * 18;
      parts.push(
        `<line x1="${left + plotWidth + 12}" x2="${left + plotWidth + 32}" y1="${legendY - 4}" y2="${legendY - 4}" stroke="${color}" stroke-width="2"/>`,
      );
      parts.push(
        `<text x="${left + plotWidth + 36}" y="${legendY}" font-size="11">${esc(series.label)}</text>`,
      );
    });
    y = top + height + 40;
  }

  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${y + 10}" viewBox="0 0 ${WIDTH} ${y + 10}" font-family="sans-serif">`,
    "<title>b24-transfer benchmark: cold-start samples per variant on each Node, and transfers over time under the rate limit</title>",
    `<rect width="100%" height="100%" fill="#fff"/>`,
    ...parts,
    "</svg>",
    "",
  ].join("\n");
}

/** Short names: the chart's label column is narrow. */
const CHART_VARIANTS: Record<string, string> = {
  floor: "floor (empty handler)",
  ours: "ours, as deployed (extension)",
  "ours-sdk": "ours, SDK instead of the extension",
  "ours-esm-builtins": "ours before (ES built-ins, SDK)",
  naive: "naive (zod + AWS SDK + fetch)",
  b24jssdk: "official SDK (b24jssdk)",
};

export function benchChart(
  coldByNode: { version: string; rows: ColdRow[]; firstTransferSamples: Record<string, number[]> }[],
  throughput: { scenarios: { name: string; transfersPerSecond: number; timeline: number[] }[] } | undefined,
): string {
  const panels: ChartColdPanel[] = coldByNode.map((entry) => ({
    title: `Node ${entry.version}`,
    variants: Object.entries(CHART_VARIANTS).flatMap(([name, label]) => {
      const samples = entry.firstTransferSamples[name];
      return samples ? [{ label, samples, highlight: name === "ours" }] : [];
    }),
  }));
  const series = (throughput?.scenarios ?? []).map((scenario) => ({
    label: `${scenario.name}: ${scenario.transfersPerSecond.toFixed(scenario.transfersPerSecond < 10 ? 2 : 0)}/s`,
    timeline: scenario.timeline,
    step: 10,
  }));
  return renderChart(panels, series);
}
