/** Build Scenario objects in tests without going through config files: what is not given is what the loader fills. */
import { clusterSpec } from "../../experiments/defaults.ts";
import { CATALOG } from "../../models/hardware/catalog.ts";
import type { Accelerator } from "../../models/hardware/types.ts";
import type { ModelSpec, ParallelPlan, Scenario, WorkloadSpec } from "../../models/scenario.ts";
import { BUILTIN_MODELS } from "../../models/workload/builtins.ts";

/** A ClusterSpec with the keys given and the rest as the loader fills them. */
export { clusterSpec };

export interface ScenarioParts {
  gpu?: string | Accelerator;
  nodes: number;
  gpusPerNode?: number;
  nicBandwidth?: number;
  model: string | ModelSpec;
  seqLength: number;
  globalBatch: number;
  precision?: WorkloadSpec["precision"];
  attention?: WorkloadSpec["attention"];
  plan?: Partial<ParallelPlan>;
  /** Spread of GPU speeds (default: the schema's). */
  gpuVariability?: number;
}

export function scenario(parts: ScenarioParts): Scenario {
  const gpu = typeof parts.gpu === "object" ? parts.gpu : (CATALOG[parts.gpu ?? "H100-SXM"] as Accelerator);
  const model = typeof parts.model === "string" ? (BUILTIN_MODELS[parts.model] as ModelSpec) : parts.model;
  const gpusPerNode = parts.gpusPerNode ?? 8;
  const plan = parts.plan ?? {};
  const tp = plan.tp ?? 1;
  const pp = plan.pp ?? 1;
  const cp = plan.cp ?? 1;
  const precision = parts.precision ?? "bf16";
  return {
    name: "test",
    seed: 1,
    cluster: clusterSpec({
      gpu,
      nodes: parts.nodes,
      gpusPerNode,
      ...(parts.gpuVariability !== undefined ? { gpuVariability: parts.gpuVariability } : {}),
      network: { nicBandwidth: parts.nicBandwidth ?? gpu.nicBandwidth },
    }),
    workload: { model, seqLength: parts.seqLength, globalBatch: parts.globalBatch, precision, attention: parts.attention ?? "flash" },
    parallelism: {
      tp,
      pp,
      cp,
      dp: plan.dp ?? (parts.nodes * gpusPerNode) / (tp * pp * cp),
      ep: plan.ep ?? 1,
      microBatch: plan.microBatch ?? 1,
      virtualStages: plan.virtualStages ?? 1,
      zero: plan.zero ?? 1,
      recompute: plan.recompute ?? "none",
      sequenceParallel: plan.sequenceParallel ?? tp > 1,
      overlapGradReduce: plan.overlapGradReduce ?? true,
      gradReduceDtype: plan.gradReduceDtype ?? (precision === "fp16" ? "fp16" : "fp32"),
      gradAccumulationFusion: plan.gradAccumulationFusion ?? true,
      ...(plan.firstStageLayers !== undefined ? { firstStageLayers: plan.firstStageLayers } : {}),
      ...(plan.lastStageLayers !== undefined ? { lastStageLayers: plan.lastStageLayers } : {}),
      ...optionalPlanKeys(plan),
    },
    run: { steps: 1 },
  };
}

/** ZeRO/FSDP and offload keys, passed through only when a test sets them. */
function optionalPlanKeys(plan: Partial<ParallelPlan>): Partial<ParallelPlan> {
  const keys = ["fsdpUnitLayers", "reshardAfterForward", "fsdpPrefetch", "fsdpPrefetchParams", "shardGroup", "offloadOptimizer", "offloadParams", "offloadActivationLayers", "offloadActivationShare", "fsdpModuleUnits", "fsdpMaxLiveParams", "fsdpMaxReuseParams", "fsdpPersistParams", "fsdpReduceBucketParams"] as const;
  const out: Record<string, unknown> = {};
  for (const k of keys) if (plan[k] !== undefined) out[k] = plan[k];
  return out as Partial<ParallelPlan>;
}

/** An accelerator where only the SMs cost time: links, HBM and kernel launches are (practically) free. */
export const IDEAL_ACCELERATOR: Accelerator = {
  ...(CATALOG["A100-80GB"] as Accelerator),
  name: "ideal",
  peakFlops: { bf16: 1e15 },
  hbmBandwidth: 1e21,
  scaleUpBandwidth: 1e21,
  nicBandwidth: 1e21,
  efficiency: { gemmPeakFraction: 1, hbmPeakFraction: 1, kernelLaunchSeconds: 0, attentionPeakFraction: 1 },
};

/** A dense model for hand-written tests: the shape given, the rest a plain decoder (one expert, no bias, dropout, tying or learned positions). */
export function denseModel(shape: Pick<ModelSpec, "name" | "layers" | "hidden" | "heads" | "kvHeads" | "ffn" | "vocab"> & Partial<ModelSpec>): ModelSpec {
  return { gatedMlp: false, experts: 1, topK: 1, tiedEmbeddings: false, positionEmbeddings: 0, dropout: false, bias: false, source: "test", ...shape };
}

/** A small dense model for hand-computed step tests (vocab 8: the head costs next to nothing). */
export const TINY_MODEL: ModelSpec = {
  name: "tiny",
  layers: 8,
  hidden: 4096,
  heads: 32,
  kvHeads: 32,
  ffn: 16384,
  vocab: 8,
  gatedMlp: false,
  experts: 1,
  topK: 1,
  tiedEmbeddings: false,
  positionEmbeddings: 0,
  dropout: false,
  bias: false,
  source: "test",
};

/** The scenario with MoE routing exactly balanced (every expert its share T·topK/experts), for hand-computed layer sizes. */
export function balancedRouting(s: Scenario): Scenario {
  return { ...s, workload: { ...s.workload, moe: { ...s.workload.moe, imbalance: { distribution: "balanced", spread: 0 } } } };
}
