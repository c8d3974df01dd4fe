/**
 * Checks that a parallel plan can run at all: the divisibility rules Megatron-
 * style frameworks impose, stated with the numbers that break them.
 */
import type { Scenario } from "../scenario.ts";
import { layersPerVirtualStage } from "./stages.ts";

export interface PlanProblem {
  /** Dotted config path of the offending key. */
  path: string;
  value: unknown;
  message: string;
}

export function gpuCount(s: Scenario): number {
  return s.cluster.nodes * s.cluster.gpusPerNode;
}

/** Micro-batches each data-parallel replica runs per optimizer step. */
export function microBatchesPerStep(s: Scenario): number {
  const p = s.parallelism;
  return s.workload.globalBatch / (p.dp * p.microBatch);
}

export function checkPlan(s: Scenario): PlanProblem[] {
  const out: PlanProblem[] = [];
  const p = s.parallelism;
  const m = s.workload.model;
  const add = (path: string, value: unknown, message: string): void => {
    out.push({ path, value, message: `${path}: ${message}` });
  };
  const gpus = gpuCount(s);
  if (p.tp * p.pp * p.dp * p.cp !== gpus) {
    add("parallelism", { tp: p.tp, pp: p.pp, dp: p.dp, cp: p.cp }, `tp·pp·dp·cp = ${p.tp}·${p.pp}·${p.dp}·${p.cp} = ${p.tp * p.pp * p.dp * p.cp}, but the cluster has ${s.cluster.nodes}·${s.cluster.gpusPerNode} = ${gpus} GPUs`);
  }
  if (m.heads % p.tp !== 0) add("parallelism.tp", p.tp, `${p.tp} does not divide workload.heads ${m.heads}`);
  if (m.kvHeads % p.tp !== 0 && p.tp % m.kvHeads !== 0) {
    add("parallelism.tp", p.tp, `${p.tp} and workload.kvHeads ${m.kvHeads} must divide one another (KV heads are split or replicated across tensor ranks)`);
  }
  if (m.ffn % p.tp !== 0) add("parallelism.tp", p.tp, `${p.tp} does not divide the MLP size workload.ffn ${m.ffn}`);
  if (m.vocab % p.tp !== 0) add("parallelism.tp", p.tp, `${p.tp} does not divide workload.vocab ${m.vocab} (pad the vocabulary to a multiple of tp)`);
  const split = layersPerVirtualStage(m.layers, p);
  if (typeof split === "string") add("parallelism.pp", p.pp, split);
  if (p.virtualStages > 1 && p.pp === 1) add("parallelism.virtualStages", p.virtualStages, "interleaving needs pp > 1");
  const perReplica = p.dp * p.microBatch;
  if (s.workload.globalBatch % perReplica !== 0) {
    add("workload.globalBatch", s.workload.globalBatch, `must be a multiple of dp·microBatch = ${p.dp}·${p.microBatch} = ${perReplica}`);
  } else if (p.virtualStages > 1 && microBatchesPerStep(s) % p.pp !== 0) {
    add("parallelism.virtualStages", p.virtualStages, `the interleaved schedule needs micro-batches per replica (${microBatchesPerStep(s)}) to be a multiple of pp ${p.pp}`);
  }
  if (m.experts % p.ep !== 0) add("parallelism.ep", p.ep, `${p.ep} does not divide the number of experts ${m.experts}`);
  if (p.ep > 1 && m.experts === 1) add("parallelism.ep", p.ep, "expert parallelism needs a mixture-of-experts model (experts > 1)");
  if (p.expertTp === undefined) {
    if (m.experts > 1 && (m.expertFfn ?? m.ffn) % p.tp !== 0) add("parallelism.tp", p.tp, `${p.tp} does not divide the expert MLP size ${m.expertFfn ?? m.ffn} (set parallelism.expertTp to shard the experts otherwise)`);
    if ((p.dp * p.cp) % p.ep !== 0) add("parallelism.ep", p.ep, `${p.ep} must divide dp·cp = ${p.dp * p.cp} (experts are spread over data-parallel ranks)`);
  } else {
    const span = p.tp * p.dp * p.cp;
    if (p.expertTp > 1 && m.experts === 1) add("parallelism.expertTp", p.expertTp, "expert tensor parallelism needs a mixture-of-experts model (experts > 1)");
    else if (span % (p.ep * p.expertTp) !== 0) add("parallelism.expertTp", p.expertTp, `ep·expertTp = ${p.ep}·${p.expertTp} must divide tp·dp·cp = ${span} (the expert layout tiles each pipeline stage)`);
    else if ((m.expertFfn ?? m.ffn) % p.expertTp !== 0) add("parallelism.expertTp", p.expertTp, `${p.expertTp} does not divide the expert MLP size ${m.expertFfn ?? m.ffn}`);
  }
  if (s.workload.seqLength % p.cp !== 0) add("parallelism.cp", p.cp, `${p.cp} does not divide workload.seqLength ${s.workload.seqLength}`);
  if (s.cluster.gpu.peakFlops[s.workload.precision] === undefined) {
    const have = Object.keys(s.cluster.gpu.peakFlops).join(", ");
    add("workload.precision", s.workload.precision, `${s.cluster.gpu.name} has no ${s.workload.precision} peak in the catalog; it supports ${have}`);
  }
  return out;
}
