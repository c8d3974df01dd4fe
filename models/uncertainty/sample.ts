/**
 * Which calibrated constants a scenario's step depends on, how sure the catalog is of each
 * (spreads.ts), and the scenario with some of them moved. Pure functions on plain data.
 */
import { CATALOG } from "../hardware/catalog.ts";
import { baseAttentionBackend } from "../hardware/attention-backend.ts";
import type { EfficiencyCalibration } from "../hardware/types.ts";
import { NIC_EFFICIENCY, NVLINK_EFFICIENCY } from "../collectives/alpha-beta.ts";
import { NVLS_EFFICIENCY, XGMI_EFFICIENCY } from "../network/collectives.ts";
import type { Scenario } from "../scenario.ts";
import { streamField } from "../compute/kernel.ts";
import { headKernels, layerBackwardKernels, layerForwardKernels } from "../workload/layer-kernels.ts";
import { layerShape } from "../workload/memory.ts";
import { NIC_LINK, SCALE_UP_LINK, spreadOf } from "./spreads.ts";

export interface UncertainConstant {
  /** "efficiency.gemmPeakFraction", "network.nicEfficiency", ... */
  path: string;
  /** The value the scenario runs with. */
  value: number;
  /** Relative interval: value × (1 + low) … value × (1 + high). */
  low: number;
  high: number;
  source: string;
}

type EfficiencyField = keyof EfficiencyCalibration;

/** Fields that a cuDNN backend swapped in at load time take their spread from (attention-backend.ts). */
const CUDNN_FIELD: Partial<Record<EfficiencyField, EfficiencyField>> = {
  attentionPeakFraction: "cudnnAttentionPeakFraction",
  attentionBackwardPeakFraction: "cudnnAttentionBackwardPeakFraction",
  fp8AttentionPeakFraction: "cudnnFp8AttentionPeakFraction",
  fp8AttentionBackwardPeakFraction: "cudnnFp8AttentionBackwardPeakFraction",
};

/** Fields that an AOTriton backend swapped in at load time take their spread from (attention-backend.ts). */
const AOTRITON_FIELD: Partial<Record<EfficiencyField, EfficiencyField>> = {
  attentionPeakFraction: "aotritonAttentionPeakFraction",
  attentionBackwardPeakFraction: "aotritonAttentionBackwardPeakFraction",
};

/** The efficiency fields `s`'s step reads (FP8 ones only in an FP8 run; cuDNN's only through the swap). */
function fieldsUsed(s: Scenario): EfficiencyField[] {
  const fields: EfficiencyField[] = ["gemmPeakFraction", "hbmPeakFraction", "kernelLaunchSeconds", "attentionPeakFraction", "attentionBackwardPeakFraction", ...streamFieldsUsed(s)];
  if (s.workload.precision === "fp8") {
    fields.push("fp8GemmPeakFraction", "fp8RowwiseGemmRelative", "mxfp8GemmRelative", "fp8BlockwiseGemmRelative");
    if (s.workload.fp8Attention === true) fields.push("fp8AttentionPeakFraction", "fp8AttentionBackwardPeakFraction");
  }
  return fields;
}

/** The shares of STREAM of the memory-kernel classes `s`'s layer and output layer run (their kernels' streamClass). */
function streamFieldsUsed(s: Scenario): EfficiencyField[] {
  const x = layerShape(s);
  const lists = [layerForwardKernels(x), layerBackwardKernels(x), headKernels(x, "forward"), headKernels(x, "backward")];
  const classes = new Set(lists.flatMap((l) => l.kernels.flatMap((k) => (k.streamClass === undefined ? [] : [k.streamClass]))));
  return [...classes].map(streamField);
}

/** Every constant `s`'s step depends on that has a non-zero spread, sorted by path. */
export function uncertainConstants(s: Scenario): UncertainConstant[] {
  const gpu = s.cluster.gpu;
  const catalogGpu = CATALOG[gpu.name];
  // Spreads and sources are the catalog part's; an inline GPU takes the defaults for derived constants.
  const ref = catalogGpu ?? gpu;
  const swapped = catalogGpu !== undefined && baseAttentionBackend(catalogGpu) !== baseAttentionBackend(gpu);
  const out: UncertainConstant[] = [];
  const add = (path: string, value: number, lookup = path): void => {
    const sp = gpu.measuredSpreads?.[path] ?? spreadOf(ref, lookup);
    if (sp.low !== 0 || sp.high !== 0) out.push({ path, value, low: sp.low, high: sp.high, source: sp.source });
  };
  for (const field of fieldsUsed(s)) {
    const value = gpu.efficiency[field];
    if (typeof value !== "number") continue; // absent: the step derives it from a field that is sampled
    const own = gpu.attentionBackend === "aotriton" ? AOTRITON_FIELD[field] : CUDNN_FIELD[field];
    add(`efficiency.${field}`, value, swapped && own !== undefined ? `efficiency.${own}` : `efficiency.${field}`);
  }
  // In-switch reduction: NVSwitch parts after A100 (models/network/fat-tree.ts); a mesh has none, and then NVLS moves nothing.
  if (gpu.scaleUpKind === "nvlink" && !gpu.name.startsWith("A100")) add("efficiency.nvlsFraction", gpu.efficiency.nvlsFraction ?? NVLS_EFFICIENCY);
  add(SCALE_UP_LINK, gpu.scaleUpKind === "xgmi" ? XGMI_EFFICIENCY : NVLINK_EFFICIENCY);
  if (s.cluster.nodes > 1) add(NIC_LINK, NIC_EFFICIENCY);
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

// Not fractions of a peak: no cap at 1.
const UNBOUNDED = new Set<string>(["kernelLaunchSeconds", "attentionFillKeys", "attentionBackwardFillKeys"]);

/**
 * `s` with each constant of `factors` (path → multiplier) moved. A link's effective rate moves
 * through the link's bandwidth (the same as moving its protocol efficiency); NVLS keeps its own
 * factor, so the scale-up one is taken back out of it.
 */
export function withFactors(s: Scenario, factors: ReadonlyMap<string, number>): Scenario {
  if (factors.size === 0) return s;
  const gpu = s.cluster.gpu;
  const efficiency: EfficiencyCalibration = { ...gpu.efficiency };
  const e = efficiency as unknown as Record<string, number | undefined>;
  for (const [path, f] of factors) {
    if (!path.startsWith("efficiency.")) continue;
    const field = path.slice("efficiency.".length);
    const base = e[field] ?? (field === "nvlsFraction" ? NVLS_EFFICIENCY : undefined);
    if (base === undefined) continue;
    const moved = base * f;
    e[field] = UNBOUNDED.has(field) ? moved : Math.min(1, moved);
  }
  const link = factors.get(SCALE_UP_LINK) ?? 1;
  if (link !== 1 && gpu.scaleUpKind === "nvlink") efficiency.nvlsFraction = (efficiency.nvlsFraction ?? NVLS_EFFICIENCY) / link;
  const nic = factors.get(NIC_LINK) ?? 1;
  return {
    ...s,
    cluster: {
      ...s.cluster,
      gpu: { ...gpu, efficiency, scaleUpBandwidth: gpu.scaleUpBandwidth * link },
      network: { ...s.cluster.network, nicBandwidth: s.cluster.network.nicBandwidth * nic },
    },
  };
}
