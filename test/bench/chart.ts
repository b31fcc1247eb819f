/**
 * The SVG chart `npm run bench` writes for docs/performance.md: throughput and telli calls per
 * operation of `contact(id)` against the number of concurrent connections, one line per telli
 * latency (and per build, with a baseline). Plain SVG, no dependency: it must render on a code
 * host, in a browser and in an editor's preview alike.
 */

export interface SweepPoint {
  connections: number;
  requestsPerSecond: number;
  upstreamCallsPerOp: number;
}

export interface SweepSeries {
  /** e.g. `this build, telli 0 ms` */
  label: string;
  /** Lines of one latency share a colour; a baseline build is dashed. */
  latencyMs: number;
  baseline: boolean;
  points: SweepPoint[];
}

const WIDTH = 920;
const HEIGHT = 380;
const PANEL = { width: 360, height: 230, top: 62, left: [80, 540] as const };
const COLOURS = ['#2563eb', '#ea580c', '#16a34a', '#9333ea'];

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The axis top and tick step: the smallest 1/2/2.5/5 × 10^k step that covers `max` in at most six ticks. */
function niceScale(max: number): { top: number; step: number } {
  if (!(max > 0)) return { top: 1, step: 0.25 };
  const magnitude = 10 ** Math.floor(Math.log10(max));
  for (const base of [0.1, 1, 10]) {
    for (const factor of [1, 2, 2.5, 5]) {
      const step = factor * magnitude * base;
      const ticks = Math.ceil(max / step - 1e-9);
      if (ticks <= 6) return { top: ticks * step, step };
    }
  }
  return { top: 10 * magnitude, step: 2 * magnitude };
}

const formatTick = (value: number) =>
  value >= 1000 ? `${(value / 1000).toFixed(value % 1000 === 0 ? 0 : 1)}k` : `${+value.toFixed(3)}`;

export function sweepChart(series: readonly SweepSeries[], caption: string): string {
  const connections = [...new Set(series.flatMap((s) => s.points.map((p) => p.connections)))].sort((a, b) => a - b);
  const latencies = [...new Set(series.map((s) => s.latencyMs))].sort((a, b) => a - b);
  const colour = (latencyMs: number) => COLOURS[latencies.indexOf(latencyMs) % COLOURS.length] as string;
  const [minC, maxC] = [connections[0] ?? 1, connections.at(-1) ?? 1];
  const x = (c: number) =>
    maxC === minC ? PANEL.width / 2 : (Math.log2(c / minC) / Math.log2(maxC / minC)) * PANEL.width;

  const parts: string[] = [];
  const panel = (
    index: 0 | 1,
    title: string,
    value: (p: SweepPoint) => number,
    axisMax: (max: number) => { top: number; step: number },
  ) => {
    const left = PANEL.left[index];
    const max = Math.max(0, ...series.flatMap((s) => s.points.map(value)).filter(Number.isFinite));
    const { top, step } = axisMax(max);
    const y = (v: number) => PANEL.height - (Math.min(v, top) / top) * PANEL.height;
    parts.push(`<g transform="translate(${left},${PANEL.top})">`);
    parts.push(`<text x="${PANEL.width / 2}" y="-14" text-anchor="middle" font-weight="600">${escape(title)}</text>`);
    for (let v = 0; v <= top + step / 2; v += step) {
      parts.push(
        `<line x1="0" x2="${PANEL.width}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e5e7eb"/>`,
        `<text x="-8" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" fill="#4b5563">${formatTick(v)}</text>`,
      );
    }
    for (const c of connections) {
      parts.push(
        `<line x1="${x(c).toFixed(1)}" x2="${x(c).toFixed(1)}" y1="${PANEL.height}" y2="${PANEL.height + 5}" stroke="#6b7280"/>`,
        `<text x="${x(c).toFixed(1)}" y="${PANEL.height + 19}" text-anchor="middle" fill="#4b5563">${c}</text>`,
      );
    }
    parts.push(
      `<line x1="0" x2="${PANEL.width}" y1="${PANEL.height}" y2="${PANEL.height}" stroke="#6b7280"/>`,
      `<text x="${PANEL.width / 2}" y="${PANEL.height + 38}" text-anchor="middle" fill="#374151">concurrent connections (log scale)</text>`,
    );
    for (const s of series) {
      const points = s.points
        .filter((p) => Number.isFinite(value(p)))
        .map((p) => `${x(p.connections).toFixed(1)},${y(value(p)).toFixed(1)}`);
      const dash = s.baseline ? ' stroke-dasharray="6 4"' : '';
      parts.push(
        `<polyline points="${points.join(' ')}" fill="none" stroke="${colour(s.latencyMs)}" stroke-width="2.2"${dash}/>`,
      );
      for (const point of points) {
        const [px, py] = point.split(',');
        parts.push(
          `<circle cx="${px}" cy="${py}" r="3" fill="${s.baseline ? '#fff' : colour(s.latencyMs)}" stroke="${colour(s.latencyMs)}" stroke-width="1.5"/>`,
        );
      }
    }
    parts.push('</g>');
  };
  panel(0, 'contact(id) throughput, req/s', (p) => p.requestsPerSecond, niceScale);
  panel(
    1,
    'telli calls per contact(id)',
    (p) => p.upstreamCallsPerOp,
    (max) => niceScale(Math.max(1, max)),
  );

  // Legend, below both panels.
  const legendY = PANEL.top + PANEL.height + 62;
  series.forEach((s, i) => {
    const lx = 80 + (i % 2) * 460;
    const ly = legendY + Math.floor(i / 2) * 18;
    const dash = s.baseline ? ' stroke-dasharray="6 4"' : '';
    parts.push(
      `<line x1="${lx}" x2="${lx + 28}" y1="${ly - 4}" y2="${ly - 4}" stroke="${colour(s.latencyMs)}" stroke-width="2.2"${dash}/>`,
      `<text x="${lx + 36}" y="${ly}" fill="#111827">${escape(s.label)}</text>`,
    );
  });
  const height = Math.max(HEIGHT, legendY + Math.ceil(series.length / 2) * 18 + 8);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="12">`,
    `<title>${escape(caption)}</title>`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="${WIDTH / 2}" y="22" text-anchor="middle" fill="#374151">${escape(caption)}</text>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}

/**
 * Draws the chart again from a saved run, without measuring: `tsx test/bench/chart.ts
 * bench-results/latest.json docs/performance.svg`.
 */
if (import.meta.url === `file://${process.argv[1]}`) {
  const { readFile, writeFile } = await import('node:fs/promises');
  const [from = 'bench-results/latest.json', to = 'docs/performance.svg'] = process.argv.slice(2);
  const run = JSON.parse(await readFile(from, 'utf8')) as { sweepChart?: { series: SweepSeries[]; caption: string } };
  if (!run.sweepChart) throw new Error(`${from} has no sweep (run the bench with scenario S)`);
  await writeFile(to, sweepChart(run.sweepChart.series, run.sweepChart.caption));
}
