/**
 * XLA's collective matmul (the SPMD partitioner's windowed einsum; Wang et al., "Overlap
 * Communication with Dependent Computation via Decomposition in Large Deep Learning Models",
 * ASPLOS 2023): a dot whose activation operand is sharded over the tensor-parallel axis becomes
 * a loop of tp steps; each step multiplies the chunk in hand while a collective-permute passes
 * the next chunk round the ring (all-gather side) or the partial-sum accumulator on
 * (reduce-scatter side). So the pair takes about the longer of the dot and the permutes, plus one
 * step of the shorter (How to Scale Your Model, jax-stuff.md "Collective Matmul").
 *
 * Which dots: the all-gather feeding qkv and fc1 and the reduce-scatter after proj and fc2 in
 * forward (and in a recomputed forward); in backward the gather of the output gradient feeding
 * the proj and fc2 input-gradient dots, and the reduce-scatter of the qkv and fc1 input
 * gradients after their dots.
 *
 * The permutes: one-way, XLA's loop sends each chunk one way round the ring (open XLA's
 * SpmdPartitionerOptions bidirectional_windowed_einsum defaults to false), over one link where
 * the ring all-gather or reduce-scatter it replaces drives both directions of the torus axis:
 * the loop's communication takes 2 times the collective's; two-way (bidirectional windowed
 * einsum; libtpu has xla_tpu_spmd_bidirectional_windowed_einsum, default not published), half
 * each way, the collective's time. Taken for a group on one torus axis, as JAX's
 * create_device_mesh lays a tensor axis whenever one physical axis fits it; a group over two
 * axes would slow one-way permutes 4 times, which this does not price.
 *
 * When (openxla dot_handler.cc, GetWindowedEinsumConfiguration): the windowed operand is at
 * least threshold_for_windowed_einsum_mib, 256 MiB by SpmdPartitionerOptions' default; and XLA's
 * cost check keeps the loop only if max(dot, m·collective) + 2·m·collective/tp, the extra
 * prologue or epilogue permute included, beats dot + collective (m the permute slowdown).
 * One-way (m = 2) that never holds at tp ≤ 4, and a short dot (the attention output projection)
 * keeps its plain collective. libtpu runs it by default: MaxText's
 * benchmarks/xla_flags_library.py turns it off with --xla_jf_spmd_threshold_for_windowed_einsum_mib=1000000.
 */
import type { Kernel } from "../compute/kernel.ts";

/** The shape of layer-kernels.ts's StreamCollective that this module makes (kept structural: no import cycle). */
interface TpCollective {
  op: "all-gather" | "reduce-scatter";
  group: "tp";
  bytes: number;
  count: number;
  overlap?: { kernels: string[]; splits: number; windowed?: number };
}

/** SpmdPartitionerOptions::threshold_for_windowed_einsum_mib default (openxla/xla spmd_partitioner.h). */
export const WINDOWED_EINSUM_THRESHOLD_BYTES = 256 * 1024 * 1024;

/** The loop's permutes against the ring collective over one torus axis: one way uses one of its two links. */
export const PERMUTE_SLOWDOWN: Readonly<Record<"one-way" | "two-way", number>> = { "one-way": 2, "two-way": 1 };

/** Whether the SPMD partitioner considers a windowed einsum for a TP collective of `bytes` (the full activation). */
export function windowedEinsumConsidered(tp: number, bytes: number): boolean {
  return tp > 1 && bytes >= WINDOWED_EINSUM_THRESHOLD_BYTES;
}

/**
 * XLA's cost check (dot_handler.cc): the loop is kept when the longer of the dot and the slowed
 * permutes, plus the extra permute step, is shorter than the dot then the collective.
 */
export function windowedEinsumPays(dotSeconds: number, collectiveSeconds: number, slowdown: number, steps: number): boolean {
  const permutes = collectiveSeconds * slowdown;
  return Math.max(dotSeconds, permutes) + (2 * permutes) / steps < dotSeconds + collectiveSeconds;
}

/**
 * The sequence-parallel (activation-sharded) collectives of one dense layer in one direction,
 * each paired with its dot as a windowed einsum of tp steps where XLA considers one (the cost
 * check is made in the step, with the dot's and the collective's times).
 * `bytes`: the full activation on the tensor-parallel group (tokens × hidden × element bytes).
 */
export function collectiveMatmulTp(tp: number, way: "one-way" | "two-way", bytes: number, backward: boolean, mlp: boolean): TpCollective[] {
  const windowed = windowedEinsumConsidered(tp, bytes);
  const pair = (op: "all-gather" | "reduce-scatter", kernel: string): TpCollective => ({
    op,
    group: "tp",
    bytes,
    count: 1,
    ...(windowed ? { overlap: { kernels: [kernel], splits: tp, windowed: PERMUTE_SLOWDOWN[way] } } : {}),
  });
  const attention = backward ? [pair("all-gather", "proj.dgrad"), pair("reduce-scatter", "qkv.dgrad")] : [pair("all-gather", "qkv"), pair("reduce-scatter", "proj")];
  if (!mlp) return attention;
  return [...attention, ...(backward ? [pair("all-gather", "fc2.dgrad"), pair("reduce-scatter", "fc1.dgrad")] : [pair("all-gather", "fc1"), pair("reduce-scatter", "fc2")])];
}

/**
 * A layer's TP collectives under collective matmul: the dense MLP's pair windowed like the
 * attention's; a MoE layer's shared experts (mlpGather 1 with experts) keep plain collectives,
 * routed experts none (layer-kernels.ts adds the expert-parallel ones).
 */
export function collectiveMatmulLayer(x: { tp: number; model: { experts: number } }, way: "one-way" | "two-way", bytes: number, backward: boolean, mlpGather: number): TpCollective[] {
  const dense = x.model.experts <= 1;
  const out = collectiveMatmulTp(x.tp, way, bytes, backward, dense && mlpGather === 1);
  if (!dense && mlpGather === 1) out.push({ op: "all-gather", group: "tp", bytes, count: 1 }, { op: "reduce-scatter", group: "tp", bytes, count: 1 });
  return out;
}

/**
 * A recomputed forward under a remat policy re-runs only some dots: a windowed collective is
 * part of its dot's loop, so it re-runs only with that dot (the MLP down projection, never
 * re-run, takes its reduce-scatter with it).
 */
export function windowedRerun<C extends { overlap?: { kernels: string[] } }>(x: { tpCollectiveMatmul?: string }, list: { kernels: Kernel[]; collectives: C[] }): { kernels: Kernel[]; collectives: C[] } {
  if (x.tpCollectiveMatmul === undefined) return list;
  const run = new Set(list.kernels.map((k) => k.name));
  return { ...list, collectives: list.collectives.filter((c) => c.overlap === undefined || c.overlap.kernels.some((n) => run.has(n))) };
}
