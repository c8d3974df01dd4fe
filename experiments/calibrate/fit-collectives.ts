/**
 * Fabric constants from nccl-tests tables, through the repo's own collective model
 * (models/network: a collective's flows on the topology's links, each link carrying its
 * rate × protocol efficiency, bytes inflated by the size curve, plus the model's latency).
 *
 * For every row the model is run once with the level's links at exactly their nominal rate
 * and a flat size curve: x = the model's bandwidth time. The measurement is y = time − the
 * model's latency. The calibrated model predicts y = x / (e · c(size)): e, the plateau
 * efficiency of the level, and c, its size curve. On the bandwidth regime (rows from
 * `bandwidthFromBytes`, 64 MiB by default, where NCCL runs its large-message protocol) the
 * rows follow y = latency + x / e; a least-absolute-deviations line on relative residuals
 * (robust.ts) gives e and the latency. Rows of that regime more than 3 robust sigmas (and 10 %) off the
 * line are outliers: reported, left out of the curve. The curve holds, at each measured size,
 * the median over its rows of x / (e · y): what the two-constant law cannot (protocol and
 * channel switches), measured, as the catalog's own SIZE_CURVE is.
 */
import type { CollectiveOp, SizeCurve } from "../../models/collectives/alpha-beta.ts";
import { NIC_EFFICIENCY } from "../../models/collectives/alpha-beta.ts";
import type { Accelerator } from "../../models/hardware/types.ts";
import { buildTopology } from "../../models/network/build.ts";
import type { Algorithm } from "../../models/network/collectives.ts";
import { simulateCollectives } from "../../models/network/flow-sim.ts";
import type { Topology } from "../../models/network/graph.ts";
import type { ClusterSpec } from "../../models/scenario.ts";
import { clusterSpec } from "../defaults.ts";
import { applyCalibration, scaleUpLinkEfficiency, type CalibrationFile, type LinkFit } from "./calibration-file.ts";
import { CalibrationInputError } from "./errors.ts";
import type { NcclTable } from "./nccl-tests.ts";
import { ladRelativeLine, median, robustSigma, spreadOf } from "./robust.ts";

export const DEFAULT_BANDWIDTH_FROM_BYTES = 64 * 2 ** 20;
const FLAT: SizeCurve = [[1, 1]];
const OUTLIER_SIGMAS = 3;
/**
 * A multi-node table measures the NIC where the NIC binds; the scale-out reference makes the
 * scale-up links this much faster so it always does. If the calibrated model is then bound by
 * NVLink on a row, that row's residual says so.
 */
const SCALE_UP_OUT_OF_THE_WAY = 1000;
/** …and more than this far off it: a line through near-exact rows has a tiny sigma, and a protocol step is not an outlier. */
const OUTLIER_FLOOR = 0.1;

export type Level = "scaleUp" | "nvls" | "scaleOut";

export interface CollectiveInput {
  table: NcclTable;
  nodes: number;
  gpusPerNode: number;
  /** The algorithm NCCL ran (NCCL_ALGO); default: what the model picks as NCCL would. */
  algorithm?: Algorithm;
}

export interface Observation {
  input: string;
  bytes: number;
  seconds: number;
}

/** The cluster a table was measured on, with a given accelerator. */
export function tableCluster(gpu: Accelerator, c: CollectiveInput): ClusterSpec {
  return clusterSpec({ gpu, nodes: c.nodes, gpusPerNode: c.gpusPerNode, network: { topology: "rail-optimized", nicBandwidth: gpu.nicBandwidth } });
}

export interface ModelTime {
  seconds: number;
  latencySeconds: number;
  algorithm: string;
}

/** The model's time for one row of a table (sendrecv: first to last rank, as nccl-tests' ring neighbour across nodes). */
export function modelTime(topo: Topology, op: CollectiveOp, ranks: number, bytes: number, algorithm: Algorithm): ModelTime {
  const all = Array.from({ length: ranks }, (_, i) => i);
  const req = op === "send" ? { op, ranks: [0, ranks - 1], bytes, algorithm } : { op, ranks: all, bytes, algorithm };
  const [timing] = simulateCollectives(topo, [req]);
  return { seconds: timing!.seconds, latencySeconds: timing!.plan.latencySeconds, algorithm: timing!.plan.algorithm };
}

export function observations(c: CollectiveInput): Observation[] {
  const out: Observation[] = [];
  for (const r of c.table.rows) {
    out.push({ input: `${c.table.file}:${r.line} out-of-place`, bytes: r.bytes, seconds: r.outOfPlaceSeconds });
    if (r.inPlaceSeconds !== undefined) out.push({ input: `${c.table.file}:${r.line} in-place`, bytes: r.bytes, seconds: r.inPlaceSeconds });
  }
  return out;
}

/** Which level a table measures: across nodes, the in-switch all-reduce, or the scale-up links. */
export function levelOf(gpu: Accelerator, c: CollectiveInput): Level {
  if (c.nodes > 1) return "scaleOut";
  const topo = buildTopology(tableCluster(gpu, c));
  const ranks = c.nodes * c.gpusPerNode;
  const largest = Math.max(...c.table.rows.map((r) => r.bytes));
  try {
    return modelTime(topo, c.table.op, ranks, largest, c.algorithm ?? "auto").algorithm === "nvls" ? "nvls" : "scaleUp";
  } catch (err) {
    throw new CalibrationInputError(`${c.table.file}: algorithm: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The accelerator with `level`'s links at exactly their nominal rate and flat size curves: the fit's reference. */
function reference(gpu: Accelerator, level: Level, calibratedSoFar: CalibrationFile): Accelerator {
  const base = applyCalibration(gpu, calibratedSoFar, "(fit in progress)");
  const efficiency = { ...base.efficiency, collectiveSizeCurves: { scaleUp: FLAT, scaleOut: FLAT, nvls: FLAT } };
  switch (level) {
    case "scaleUp":
      return { ...base, scaleUpBandwidth: gpu.scaleUpBandwidth / scaleUpLinkEfficiency(gpu), efficiency };
    case "nvls":
      return { ...base, scaleUpBandwidth: gpu.scaleUpBandwidth, efficiency: { ...efficiency, nvlsFraction: 1 } };
    case "scaleOut":
      // Scale-up links out of the way, so x is the NIC's time alone: y = x / e stays linear in 1/e.
      return { ...base, scaleUpBandwidth: base.scaleUpBandwidth * SCALE_UP_OUT_OF_THE_WAY, nicBandwidth: gpu.nicBandwidth / NIC_EFFICIENCY, efficiency };
  }
}

/** The catalog's nominal rate of a level, bytes/s per GPU per direction. */
export function nominalRate(gpu: Accelerator, level: Level): number {
  return level === "scaleOut" ? gpu.nicBandwidth : gpu.scaleUpBandwidth;
}

export interface LevelFitResult {
  fit: LinkFit;
  outliers: Set<string>;
}

/** Fit one level from its tables; `calibratedSoFar` holds the levels fitted before it (scale-up before scale-out). */
export function fitLevel(gpu: Accelerator, level: Level, inputs: readonly CollectiveInput[], calibratedSoFar: CalibrationFile, bandwidthFromBytes = DEFAULT_BANDWIDTH_FROM_BYTES): LevelFitResult {
  const ref = reference(gpu, level, calibratedSoFar);
  const pts: { input: string; bytes: number; x: number; y: number }[] = [];
  for (const c of inputs) {
    const topo = buildTopology(tableCluster(ref, c));
    const ranks = c.nodes * c.gpusPerNode;
    const cache = new Map<number, ModelTime>();
    for (const o of observations(c)) {
      let m = cache.get(o.bytes);
      if (m === undefined) {
        m = modelTime(topo, c.table.op, ranks, o.bytes, c.algorithm ?? "auto");
        cache.set(o.bytes, m);
      }
      const x = m.seconds - m.latencySeconds;
      const y = o.seconds - m.latencySeconds;
      if (!(y > 0)) throw new CalibrationInputError(`${o.input}: time: ${o.seconds * 1e6} us is not allowed; expected more than the model's own latency of ${(m.latencySeconds * 1e6).toFixed(2)} us for this collective`);
      pts.push({ input: o.input, bytes: o.bytes, x, y });
    }
  }
  const sizes = [...new Set(pts.map((p) => p.bytes))].sort((a, b) => a - b);
  // The bandwidth regime; with fewer than two sizes there, the four largest sizes measured.
  let from = bandwidthFromBytes;
  if (sizes.filter((s) => s >= from).length < 2) from = sizes[Math.max(0, sizes.length - 4)] as number;
  const regime = pts.filter((p) => p.bytes >= from);
  const line = ladRelativeLine(
    regime.map((p) => p.x),
    regime.map((p) => p.y),
  );
  const e = 1 / line.slope;
  const rel = (p: { x: number; y: number }): number => (line.intercept + line.slope * p.x - p.y) / p.y;
  const sigma = robustSigma(regime.map(rel));
  const outliers = new Set(regime.filter((p) => Math.abs(rel(p)) > Math.max(OUTLIER_SIGMAS * sigma, OUTLIER_FLOOR)).map((p) => p.input));
  const kept = regime.filter((p) => !outliers.has(p.input));
  const sizeCurve: [number, number][] = sizes.map((s) => {
    const at = pts.filter((p) => p.bytes === s && !outliers.has(p.input));
    const use = at.length > 0 ? at : pts.filter((p) => p.bytes === s).map((p) => ({ ...p, y: line.intercept + line.slope * p.x }));
    return [s, median(use.map((p) => p.x / (e * p.y)))];
  });
  const nominal = nominalRate(gpu, level);
  const value = e * nominal;
  return {
    fit: { effectiveBandwidth: { value, spread: spreadOf(value, kept.map(rel)) }, efficiency: e, latencySeconds: line.intercept, sizeCurve },
    outliers,
  };
}
