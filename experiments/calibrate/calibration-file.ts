/**
 * The calibration file `trainsim calibrate` writes and scenarios read as
 * `cluster.calibration: my-cluster.yaml`: fitted constants with their spreads, the
 * provenance of every input (path and SHA-256, no dates, so the same inputs give the same
 * file) and the residual of every input row against the calibrated model.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { Document, isScalar, isSeq, parse, visit } from "yaml";
import type { SizeCurve, SizeCurves } from "../../models/collectives/alpha-beta.ts";
import { NIC_EFFICIENCY } from "../../models/collectives/alpha-beta.ts";
import { NIC_LINK, SCALE_UP_LINK } from "../../models/uncertainty/spreads.ts";
import type { Accelerator, EfficiencyCalibration } from "../../models/hardware/types.ts";
import { linkEfficiency } from "../../models/network/collectives.ts";
import type { ClusterSpec } from "../../models/scenario.ts";
import { CalibrationInputError } from "./errors.ts";
import type { Spread } from "./robust.ts";

export const CALIBRATION_FORMAT = 1;

export interface FittedValue {
  value: number;
  spread: Spread;
}

/** One level of the fabric as the flow model uses it. */
export interface LinkFit {
  /**
   * Payload bandwidth per GPU per direction, bytes/s, at the plateau of the size curve
   * (nvls: the in-switch all-reduce's algorithm bandwidth).
   */
  effectiveBandwidth: FittedValue;
  /** effectiveBandwidth over the catalog's nominal rate (NVLink/xGMI per direction, NIC line rate). */
  efficiency: number;
  /** Fixed cost of one collective at this level (the intercept of time = latency + bytes / bandwidth on the bandwidth-regime rows). */
  latencySeconds: number;
  /** Fraction of effectiveBandwidth reached at each measured size: [bytes, fraction]. */
  sizeCurve: [number, number][];
}

export type GemmLevel = "bf16" | "fp8" | "fp4";
export type AttentionLevel = "bf16" | "fp8";

export interface Residual {
  /** file:line (and variant: out-of-place / in-place) */
  input: string;
  measured: number;
  predicted: number;
  /** (predicted - measured) / measured */
  relative: number;
  unit: string;
  /** Left out of the fit (relative residual beyond 3 robust sigmas of its level). */
  outlier?: true;
}

export interface StepResidual {
  scenario: string;
  sha256: string;
  measuredSeconds: number;
  predictedSeconds: number;
  relative: number;
}

export interface CalibrationFile {
  trainsimCalibration: number;
  gpu: string;
  provenance: {
    tool: string;
    method: string;
    inputs: { file: string; kind: string; sha256: string; rows: number }[];
  };
  fabric?: { scaleUp?: LinkFit; nvls?: LinkFit; scaleOut?: LinkFit };
  kernels?: {
    /** Fraction of the precision's dense peak a large GEMM reaches (the catalog's gemmPeakFraction at 8192³); shapes scale it as models/compute/gemm-efficiency.ts does. */
    gemm?: Partial<Record<GemmLevel, FittedValue>>;
    /** Flash-attention level at 16k keys (the catalog's attentionPeakFraction and friends). */
    attentionForward?: Partial<Record<AttentionLevel, FittedValue>>;
    attentionBackward?: Partial<Record<AttentionLevel, FittedValue>>;
  };
  residuals: Residual[];
  /** Measured step times against the calibrated prediction: reported, nothing is fitted to them. */
  steps?: StepResidual[];
}

export function sha256(bytes: Buffer | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Fixed, readable number formatting: 6 significant digits keeps files stable across platforms. */
function tidy(value: unknown): unknown {
  if (typeof value === "number") return Number.isInteger(value) ? value : Number(value.toPrecision(6));
  if (Array.isArray(value)) return value.map(tidy);
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, tidy(v)]));
  return value;
}

export function calibrationYaml(c: CalibrationFile): string {
  const head = [
    "# trainsim calibration: constants fitted to measurements of one cluster (trainsim calibrate).",
    "# Use it from a scenario as `cluster.calibration: <this file>` (path relative to the scenario).",
    "# Every value carries its spread (relative 1-sigma of one measurement about the fit, p5/p95).",
  ].join("\n");
  const doc = new Document(tidy(c));
  // [bytes, fraction] pairs on one line each.
  visit(doc, { Seq(_, node) { if (isSeq(node) && node.items.length === 2 && node.items.every((i) => isScalar(i))) node.flow = true; } });
  return `${head}\n${doc.toString({ lineWidth: 0, flowCollectionPadding: false })}`;
}

// ---------------------------------------------------------------------------
// Reading

function fail(file: string, field: string, value: unknown, expected: string): never {
  throw new CalibrationInputError(`${file}: ${field}: ${JSON.stringify(value)} is not allowed; expected ${expected}`);
}

function positive(file: string, field: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) fail(file, field, v, "a number > 0");
  return v;
}

function fitted(file: string, field: string, v: unknown): FittedValue {
  if (v === null || typeof v !== "object") fail(file, field, v, "{value, spread}");
  const o = v as Record<string, unknown>;
  const value = positive(file, `${field}.value`, o["value"]);
  return { value, spread: (o["spread"] ?? { relative: 0, standardError: 0, rows: 0, p5: value, p95: value }) as Spread };
}

function curve(file: string, field: string, v: unknown): [number, number][] {
  if (!Array.isArray(v) || v.length === 0) fail(file, field, v, "a list of [bytes, fraction] pairs");
  let last = 0;
  return v.map((p, i) => {
    if (!Array.isArray(p) || p.length !== 2) fail(file, `${field}[${i}]`, p, "[bytes, fraction]");
    const b = positive(file, `${field}[${i}][0]`, p[0]);
    const f = positive(file, `${field}[${i}][1]`, p[1]);
    if (b <= last) fail(file, `${field}[${i}][0]`, b, `sizes in increasing order (after ${last})`);
    last = b;
    return [b, f];
  });
}

function link(file: string, field: string, v: unknown): LinkFit | undefined {
  if (v === undefined) return undefined;
  if (v === null || typeof v !== "object") fail(file, field, v, "{effectiveBandwidth, efficiency, latencySeconds, sizeCurve}");
  const o = v as Record<string, unknown>;
  const lat = o["latencySeconds"];
  if (typeof lat !== "number" || !(lat >= 0)) fail(file, `${field}.latencySeconds`, lat, "a number >= 0");
  return {
    effectiveBandwidth: fitted(file, `${field}.effectiveBandwidth`, o["effectiveBandwidth"]),
    efficiency: positive(file, `${field}.efficiency`, o["efficiency"]),
    latencySeconds: lat,
    sizeCurve: curve(file, `${field}.sizeCurve`, o["sizeCurve"]),
  };
}

function levels<K extends string>(file: string, field: string, v: unknown, keys: readonly K[]): Partial<Record<K, FittedValue>> | undefined {
  if (v === undefined) return undefined;
  if (v === null || typeof v !== "object") fail(file, field, v, `a map of ${keys.join(", ")}`);
  const out: Partial<Record<K, FittedValue>> = {};
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
    if (!(keys as readonly string[]).includes(k)) fail(file, `${field}.${k}`, k, `one of ${keys.join(", ")}`);
    const f = fitted(file, `${field}.${k}`, val);
    if (f.value > 1) fail(file, `${field}.${k}.value`, f.value, "a fraction of peak, at most 1");
    out[k as K] = f;
  }
  return out;
}

/** Read and check a calibration file; errors name the file and the field. */
export function readCalibration(file: string): CalibrationFile {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new CalibrationInputError(`${file}: cannot read the calibration file (${(err as NodeJS.ErrnoException).code ?? String(err)}); expected a file written by trainsim calibrate`);
  }
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (err) {
    throw new CalibrationInputError(`${file}: not valid YAML (${err instanceof Error ? err.message.split("\n")[0] : String(err)}); expected a file written by trainsim calibrate`);
  }
  if (raw === null || typeof raw !== "object") fail(file, "(file)", raw, "a calibration written by trainsim calibrate");
  const o = raw as Record<string, unknown>;
  if (o["trainsimCalibration"] !== CALIBRATION_FORMAT) fail(file, "trainsimCalibration", o["trainsimCalibration"], `${CALIBRATION_FORMAT} (a file written by trainsim calibrate)`);
  if (typeof o["gpu"] !== "string") fail(file, "gpu", o["gpu"], "the catalog accelerator the calibration was fitted against");
  const fab = (o["fabric"] ?? {}) as Record<string, unknown>;
  const ker = (o["kernels"] ?? {}) as Record<string, unknown>;
  const fabric: NonNullable<CalibrationFile["fabric"]> = {};
  for (const k of ["scaleUp", "nvls", "scaleOut"] as const) {
    const l = link(file, `fabric.${k}`, fab[k]);
    if (l !== undefined) fabric[k] = l;
  }
  const kernels: NonNullable<CalibrationFile["kernels"]> = {};
  const gemm = levels(file, "kernels.gemm", ker["gemm"], ["bf16", "fp8", "fp4"] as const);
  if (gemm !== undefined) kernels.gemm = gemm;
  const af = levels(file, "kernels.attentionForward", ker["attentionForward"], ["bf16", "fp8"] as const);
  if (af !== undefined) kernels.attentionForward = af;
  const ab = levels(file, "kernels.attentionBackward", ker["attentionBackward"], ["bf16", "fp8"] as const);
  if (ab !== undefined) kernels.attentionBackward = ab;
  return {
    trainsimCalibration: CALIBRATION_FORMAT,
    gpu: o["gpu"],
    provenance: (o["provenance"] ?? { tool: "", method: "", inputs: [] }) as CalibrationFile["provenance"],
    fabric,
    kernels,
    residuals: Array.isArray(o["residuals"]) ? (o["residuals"] as Residual[]) : [],
  };
}

// ---------------------------------------------------------------------------
// Applying

/** Share of the scale-up link rate the flow model's links carry (NVLink, xGMI, ICI). */
export function scaleUpLinkEfficiency(gpu: Accelerator): number {
  return linkEfficiency(gpu.scaleUpKind === "xgmi" ? "xgmi" : gpu.scaleUpKind === "ici" ? "ici" : "nvlink");
}

/**
 * The accelerator with a calibration's values over the catalog's: link rates set so the
 * model's links carry the fitted effective bandwidths, the NVLS fraction, the measured size
 * curves, and the kernel levels. `source` names the file in the accelerator's sources.
 */
export function applyCalibration(gpu: Accelerator, c: CalibrationFile, source: string): Accelerator {
  const efficiency: EfficiencyCalibration = { ...gpu.efficiency };
  const sources = { ...gpu.sources };
  const out: Accelerator = { ...gpu, efficiency, sources };
  const f = c.fabric ?? {};
  const note = (key: string): void => {
    sources[key] = `user calibration ${source}`;
  };
  // The uncertainty model samples a fitted constant over p5..p95 of one measurement about the fit
  // (its residual scatter), not the fit's narrower standard error: a run uses the constant at
  // sizes and shapes the measurements did not.
  const spreads: Record<string, { low: number; high: number; source: string }> = {};
  const spreadFrom = (path: string, v: FittedValue): void => {
    const r = 1.645 * v.spread.relative;
    spreads[path] = { low: -r, high: r, source: `user calibration ${source}: p5..p95 of ${v.spread.rows} measurements about the fit (1.645 x ${v.spread.relative.toPrecision(3)})` };
  };
  if (f.scaleUp !== undefined) {
    out.scaleUpBandwidth = f.scaleUp.effectiveBandwidth.value / scaleUpLinkEfficiency(gpu);
    note("scaleUpBandwidth");
    spreadFrom(SCALE_UP_LINK, f.scaleUp.effectiveBandwidth);
  }
  if (f.nvls !== undefined) {
    efficiency.nvlsFraction = f.nvls.effectiveBandwidth.value / out.scaleUpBandwidth;
    note("efficiency.nvlsFraction");
    spreadFrom("efficiency.nvlsFraction", f.nvls.effectiveBandwidth);
  }
  if (f.scaleOut !== undefined) {
    out.nicBandwidth = f.scaleOut.effectiveBandwidth.value / NIC_EFFICIENCY;
    note("nicBandwidth");
    spreadFrom(NIC_LINK, f.scaleOut.effectiveBandwidth);
  }
  const curves: SizeCurves = { ...(gpu.efficiency.collectiveSizeCurves ?? {}) };
  const asCurve = (l: LinkFit): SizeCurve => l.sizeCurve.map(([b, x]) => [b, x] as const);
  if (f.scaleUp !== undefined) curves.scaleUp = asCurve(f.scaleUp);
  if (f.nvls !== undefined) curves.nvls = asCurve(f.nvls);
  if (f.scaleOut !== undefined) curves.scaleOut = asCurve(f.scaleOut);
  if (Object.keys(curves).length > 0) {
    efficiency.collectiveSizeCurves = curves;
    note("efficiency.collectiveSizeCurves");
  }
  const k = c.kernels ?? {};
  const set = (field: keyof EfficiencyCalibration, v: FittedValue | undefined): void => {
    if (v === undefined) return;
    (efficiency as unknown as Record<string, number>)[field] = v.value;
    note(`efficiency.${field}`);
    spreadFrom(`efficiency.${field}`, v);
  };
  set("gemmPeakFraction", k.gemm?.bf16);
  set("fp8GemmPeakFraction", k.gemm?.fp8);
  set("fp4GemmPeakFraction", k.gemm?.fp4);
  set("attentionPeakFraction", k.attentionForward?.bf16);
  set("attentionBackwardPeakFraction", k.attentionBackward?.bf16);
  set("fp8AttentionPeakFraction", k.attentionForward?.fp8);
  set("fp8AttentionBackwardPeakFraction", k.attentionBackward?.fp8);
  // Attention timed by the user's own protocol shares its clock with their kernels: no catalog clock correction.
  if (k.attentionForward !== undefined || k.attentionBackward !== undefined) {
    delete efficiency.attentionClockRatio;
    delete efficiency.fp8RunAttentionClockRatio;
  }
  if (Object.keys(spreads).length > 0) out.measuredSpreads = { ...(gpu.measuredSpreads ?? {}), ...spreads };
  return out;
}

/** A cluster with the calibration applied: its accelerator, and the NIC rate where the scale-out level was measured. */
export function calibratedCluster(cluster: ClusterSpec, c: CalibrationFile, source: string): ClusterSpec {
  const gpu = applyCalibration(cluster.gpu, c, source);
  return { ...cluster, gpu, network: { ...cluster.network, nicBandwidth: c.fabric?.scaleOut !== undefined ? gpu.nicBandwidth : cluster.network.nicBandwidth } };
}
