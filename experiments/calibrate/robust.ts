/**
 * Robust, deterministic fits on relative residuals. Measurements of collectives and kernels
 * span orders of magnitude and their noise is proportional to the value, so every fit
 * minimises the sum of |measured - model| / measured: least absolute deviations (LAD) on
 * relative residuals. LAD's optimum is an exact vertex (the line through two of the points, a
 * scale through one), so it is found by enumeration: no iteration, no starting point, no
 * tolerance, the same answer on every machine. A minority of wild rows (a noisy neighbour, a
 * warm-up outlier) moves a median, not a mean: the fits below break down only when about
 * half the rows are wrong.
 */

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** 1.4826 × the median absolute deviation from the median: a standard deviation that outliers do not inflate. */
export function robustSigma(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = median(xs);
  return 1.4826 * median(xs.map((x) => Math.abs(x - m)));
}

/** The weighted median: the v minimising Σ w_i |v_i - v| (lowest such v on a tie). */
export function weightedMedian(values: readonly number[], weights: readonly number[]): number {
  const idx = values.map((_, i) => i).sort((a, b) => (values[a] as number) - (values[b] as number) || a - b);
  const total = weights.reduce((a, w) => a + w, 0);
  let acc = 0;
  for (const i of idx) {
    acc += weights[i] as number;
    if (acc >= total / 2) return values[i] as number;
  }
  return values[idx[idx.length - 1] as number] as number;
}

/** Scale fit y ≈ s·g minimising Σ |y - s·g| / y: the weighted median of y/g with weights g/y. */
export function ladRelativeScale(y: readonly number[], g: readonly number[]): number {
  return weightedMedian(
    y.map((v, i) => v / (g[i] as number)),
    y.map((v, i) => (g[i] as number) / v),
  );
}

export interface Line {
  intercept: number;
  slope: number;
}

function relativeCost(x: readonly number[], y: readonly number[], a: number, b: number): number {
  let c = 0;
  for (let i = 0; i < x.length; i++) c += Math.abs((y[i] as number) - a - b * (x[i] as number)) / (y[i] as number);
  return c;
}

/**
 * Line y ≈ a + b·x with a ≥ 0, b > 0 minimising Σ |y - a - b·x| / y (exact: the best of the lines
 * through two points and the lines through the origin and one point). O(n³); n is a table's rows.
 */
export function ladRelativeLine(x: readonly number[], y: readonly number[]): Line {
  let best: Line = { intercept: 0, slope: ladRelativeScale(y, x) };
  let bestCost = relativeCost(x, y, best.intercept, best.slope);
  for (let i = 0; i < x.length; i++) {
    for (let j = i + 1; j < x.length; j++) {
      const dx = (x[j] as number) - (x[i] as number);
      if (Math.abs(dx) <= 1e-12 * Math.max(Math.abs(x[i] as number), Math.abs(x[j] as number))) continue;
      const b = ((y[j] as number) - (y[i] as number)) / dx;
      const a = (y[i] as number) - b * (x[i] as number);
      if (!(b > 0) || a < 0) continue;
      const c = relativeCost(x, y, a, b);
      if (c < bestCost * (1 - 1e-12)) {
        bestCost = c;
        best = { intercept: a, slope: b };
      }
    }
  }
  return best;
}

/** Relative 1-sigma of a fitted constant from its rows' relative residuals, and its p5/p95. */
export interface Spread {
  /** Robust scatter of one measurement about the fit (1.4826 MAD of relative residuals). */
  relative: number;
  /** The fit's own standard error: relative × sqrt(pi/2) / sqrt(rows) (LAD's efficiency against least squares). */
  standardError: number;
  rows: number;
  p5: number;
  p95: number;
}

export function spreadOf(value: number, relativeResiduals: readonly number[]): Spread {
  const relative = robustSigma(relativeResiduals);
  const n = relativeResiduals.length;
  return { relative, standardError: n > 0 ? (relative * Math.sqrt(Math.PI / 2)) / Math.sqrt(n) : 0, rows: n, p5: value * (1 - 1.645 * relative), p95: value * (1 + 1.645 * relative) };
}
