/**
 * Which GPUs a step runs on: a RankSet.
 *
 * - Folded: one representative per pipeline stage stands for its tp·cp·dp peers
 *   (on this model's non-blocking fabric they share nothing but what each GPU
 *   owns). It computes at the pace of the slowest of them, and runs every
 *   collective by itself: its groups have one member.
 * - Full: every GPU, in Megatron order (tensor fastest, then context, data,
 *   pipeline), with its own resources and sampled speed. A collective waits for
 *   the whole group, so one slow GPU holds its groups back.
 *
 * Both draw GPU speeds in rank order from the same seeded stream, so with one
 * seed a folded stage's speed is exactly the slowest of its GPUs in full mode.
 */
import { gpuSpeeds } from "../hardware/variability.ts";
import { scaleUpSpan } from "../network/build.ts";
import type { RandomStream } from "../../sim/random.ts";
import type { ParallelPlan, Scenario } from "../scenario.ts";
import { fsdpSettings } from "../workload/memory.ts";
import { CHANNELS, CH_CP, CH_DP_COMPUTE, CH_DP_STREAM, CH_EP, CH_ETP, CH_FSDP_GATHER, CH_FSDP_REPLICA, CH_FSDP_SHARD, CH_TP } from "./program.ts";
import type { StepProgram } from "./program.ts";

export interface RankSet {
  kind: "folded" | "full";
  /** Ranks per pipeline stage (R) and in all (N = R · pp); rank g is in stage floor(g / R). */
  perStage: number;
  count: number;
  /** GPUs each stage stands for (for power). */
  stageGpus: number;
  /** Per rank: SM speed factor, node (sends within a node use NVLink), name of its resources. */
  speed: Float64Array;
  node: Int32Array;
  names: string[];
  /** Per channel and rank: the first member of its group; per channel: members' stride and count. */
  groupBase: Int32Array;
  channelStride: Int32Array;
  channelCount: Int32Array;
  /** Time work that shares nothing directly, outside the fluid model (see sim/uncontended.ts). */
  uncontended: boolean;
}

function drawSpeeds(s: Scenario, n: number, rng: RandomStream): Float64Array {
  return gpuSpeeds(n, s.cluster.gpuVariability, s.cluster.stragglers ?? [], rng);
}

export function foldedRanks(s: Scenario, prog: StepProgram, rng: RandomStream): RankSet {
  const p = prog.p;
  const peers = p.tp * p.dp * p.cp;
  const speeds = drawSpeeds(s, peers * p.pp, rng);
  const speed = Float64Array.from({ length: p.pp }, (_, r) => speeds.subarray(r * peers, (r + 1) * peers).reduce((a, b) => Math.min(a, b), Infinity));
  return {
    kind: "folded",
    perStage: 1,
    count: p.pp,
    stageGpus: peers,
    speed,
    node: Int32Array.from({ length: p.pp }, (_, r) => prog.layout.stageNode(r)),
    names: Array.from({ length: p.pp }, (_, r) => `stage${r}`),
    groupBase: Int32Array.from({ length: CHANNELS * p.pp }, (_, i) => i % p.pp),
    channelStride: new Int32Array(CHANNELS).fill(1),
    channelCount: new Int32Array(CHANNELS).fill(1),
    uncontended: false,
  };
}

/** First member of `g`'s group on `channel`. */
function groupBaseByShape(g: number, channel: number, p: ParallelPlan, R: number): number {
  const tp = p.tp;
  const etp = p.expertTp ?? p.tp;
  const st = Math.floor(g / R);
  const q = g - st * R;
  const t = q % tp;
  switch (channel) {
    case CH_TP:
      return g - t;
    case CH_CP:
      return g - (Math.floor(q / tp) % p.cp) * tp;
    // Megatron-Core's expert rank order over each stage's tp·cp·dp ranks: expert TP fastest, then EP
    // (models/parallel/layout.ts), whatever cp is: EP groups never leave their stage.
    case CH_EP:
      return g - (Math.floor(q / etp) % p.ep) * etp;
    case CH_ETP:
      return g - (q % etp);
    case CH_DP_COMPUTE:
    case CH_DP_STREAM:
      return st * R + t;
    case CH_FSDP_SHARD:
    case CH_FSDP_GATHER:
    case CH_FSDP_REPLICA: {
      // The data-parallel group (cp·dp members tp apart) cut into shard groups of shardGroup·cp consecutive members.
      const shard = fsdpSettings(p).shardGroup * p.cp;
      const idx = Math.floor(q / tp);
      return st * R + t + tp * (channel === CH_FSDP_REPLICA ? idx % shard : shard * Math.floor(idx / shard));
    }
    default:
      // Tied embeddings: the first and the last stage at the same position.
      return q;
  }
}

/** Every GPU; `speeds` (by global rank) replaces the seeded draw. */
export function fullRanks(s: Scenario, prog: StepProgram, rng: RandomStream, speeds?: Float64Array): RankSet {
  const p = prog.p;
  const R = p.tp * p.cp * p.dp;
  const N = R * p.pp;
  if (speeds !== undefined) {
    if (speeds.length !== N) throw new RangeError(`gpuSpeeds has ${speeds.length} entries; the job has ${N} GPUs`);
    for (let g = 0; g < N; g++) if (!((speeds[g] as number) > 0)) throw new RangeError(`gpuSpeeds[${g}] must be > 0, got ${speeds[g]}`);
  }
  const shard = fsdpSettings(p).shardGroup * p.cp;
  // perf P38
  const groupBase = new Int32Array(CHANNELS * N);
  for (let channel = 0; channel < CHANNELS; channel++) for (let g = 0; g < N; g++) groupBase[channel * N + g] = groupBaseByShape(g, channel, p, R);
  return {
    kind: "full",
    perStage: R,
    count: N,
    stageGpus: R,
    speed: speeds ?? drawSpeeds(s, N, rng),
    // The scale-up domain (an NVL72 rack spans 18 trays), as folded mode's stageNode counts it.
    node: Int32Array.from({ length: N }, (_, g) => Math.floor(g / scaleUpSpan(s.cluster))),
    names: Array.from({ length: N }, (_, g) => `gpu${g}`),
    groupBase,
    channelStride: Int32Array.from([1, p.tp, p.expertTp ?? p.tp, p.tp, p.tp, (p.pp - 1) * R, p.tp, p.tp * shard, p.tp, 1]),
    channelCount: Int32Array.from([p.tp, p.cp, p.ep, prog.dpShard, prog.dpShard, 2, shard, prog.dpShard / shard, shard, p.expertTp ?? p.tp]),
    uncontended: true,
  };
}
