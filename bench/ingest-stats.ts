/** Nearest-rank percentile of an unsorted list (ms); NaN when empty. */
export function percentile(values: number[], p: number): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

export const median = (values: number[]) => percentile(values, 50);

export const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

export const mb = (kb: number) => `${(kb / 1024).toFixed(1)} MB`;

export interface Latency {
  p50: number;
  p95: number;
  p99: number;
  max: number;
  n: number;
}

export const latencyOf = (values: number[]): Latency => ({
  p50: percentile(values, 50),
  p95: percentile(values, 95),
  p99: percentile(values, 99),
  max: values.length ? Math.max(...values) : NaN,
  n: values.length,
});

export const showLatency = (l: Latency) =>
  `p50 ${fmt(l.p50)} ms, p95 ${fmt(l.p95)} ms, p99 ${fmt(l.p99)} ms (max ${fmt(l.max)} ms, n=${l.n})`;
