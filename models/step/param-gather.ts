/**
 * The distributed optimizer's parameter all-gather overlapped with the next step's forward
 * (ZeRO-1/2 with parallelism.overlapParamGather), as Megatron-Core and NeMo's Apex optimizer
 * schedule it:
 *
 * - Buckets: the DDP gradient buffer's buckets, filled in backward order (the parameters
 *   reversed) and closed once they hold at least DDP_BUCKET_PARAMS parameters; the gather runs
 *   them in forward order, model chunk by model chunk (Megatron-Core
 *   core/distributed/grad_buffer.py and core/optimizer/distrib_optimizer.py
 *   get_model_param_buffer_dp_views, commit 1b6ae27 of 2024-02-14). Here a bucket holds whole
 *   pieces (the embedding, a layer, the output layer): a bucket never splits one.
 * - One gather in flight: the first bucket's all-gather starts with the step (zero_grad); the
 *   forward pre-hook of the first module using bucket i waits for it and only then launches
 *   bucket i+1's, "to ensure that the communication kernels don't head-of-line block the
 *   compute kernels" (distrib_optimizer.py _finish_param_sync_helper, same commit). Apex's
 *   DistributedFusedAdam (overlap_param_sync) likewise starts a bucket's sync only when no other
 *   is in progress (apex/contrib/optimizers/distributed_fused_adam.py
 *   _try_start_bucket_param_sync, commit b496d85 of 2024-02).
 * - Only the first micro-batch's forward of each chunk waits; later micro-batches find the
 *   parameters in place.
 *
 * So what is exposed: the first bucket's gather, and every bucket whose gather outlasts the
 * forward compute of the bucket before it.
 */
import { ENQUEUE, GATHER_STREAM, Op, WAIT } from "./ops.ts";

/**
 * Megatron-Core DistributedDataParallel's bucket_size default, 40,000,000 parameters
 * (core/distributed/distributed_data_parallel.py, commit 1b6ae27, 2024-02-14). Apex's
 * DistributedFusedAdam: bucket_cap_mb 100 of 4-byte fp32 gradients = 26.2 M, NeMo's Nemotron-4
 * configs 100 MB fp32 / 50 MB bf16: the same 26.2 M; the difference only moves bucket
 * boundaries, not the bytes gathered.
 */
export const DDP_BUCKET_PARAMS = 40e6;

/** A piece of a chunk's forward, in forward order: its parameters per rank and the routed experts' share of them. */
export interface GatherPiece {
  params: number;
  expertParams: number;
}

/**
 * Pieces grouped into buckets as the DDP buffer fills them: from the last piece backwards, a
 * bucket closes once it holds at least `bucketParams`; returned as [from, to) ranges in forward order.
 */
export function bucketRanges(pieces: readonly GatherPiece[], bucketParams = DDP_BUCKET_PARAMS): [number, number][] {
  const out: [number, number][] = [];
  let to = pieces.length;
  let held = 0;
  for (let i = pieces.length - 1; i >= 0; i--) {
    held += (pieces[i] as GatherPiece).params;
    if (held >= bucketParams) {
      out.push([i, to]);
      to = i;
      held = 0;
    }
  }
  if (to > 0) out.push([0, to]);
  return out.reverse();
}

export interface GatherBuild {
  /** The data-parallel list all-gathering `params` (of which `expertParams` over the expert data-parallel group). */
  gatherList(params: number, expertParams: number): number;
  /** The forward ops of pieces [from, to) of chunk `chunk`. */
  forwardOps(chunk: number, from: number, to: number): Op[];
  /** True if that list has no ops (nothing to gather). */
  empty(list: number): boolean;
}

export interface StageGather {
  /** The list enqueued on the gather stream when the step starts, under token 0 (-1: none). */
  startList: number;
  /** Per chunk of the stage (in model order): its first micro-batch's forward, with the waits and launches. */
  firstForward: Op[][];
  /** Token slots used (one per bucket). */
  tokens: number;
}

/** One pipeline stage's overlapped gather: `chunks` holds each of its chunks' pieces, in model order. */
export function stageGather(chunks: readonly (readonly GatherPiece[])[], build: GatherBuild, bucketParams = DDP_BUCKET_PARAMS): StageGather {
  const buckets: { chunk: number; from: number; to: number; list: number }[] = [];
  chunks.forEach((pieces, chunk) => {
    for (const [from, to] of bucketRanges(pieces, bucketParams)) {
      let params = 0;
      let expert = 0;
      for (let i = from; i < to; i++) (params += (pieces[i] as GatherPiece).params), (expert += (pieces[i] as GatherPiece).expertParams);
      buckets.push({ chunk, from, to, list: build.gatherList(params, expert) });
    }
  });
  const firstForward: Op[][] = chunks.map(() => []);
  buckets.forEach((b, k) => {
    const ops = firstForward[b.chunk] as Op[];
    const next = buckets[k + 1];
    if (!build.empty(b.list)) ops.push(marker(WAIT, b.list, k, "wait:param-gather"));
    if (next !== undefined && !build.empty(next.list)) ops.push(marker(ENQUEUE, next.list, k + 1, "enqueue:param-gather"));
    ops.push(...build.forwardOps(b.chunk, b.from, b.to));
  });
  const first = buckets[0];
  return { startList: first === undefined || build.empty(first.list) ? -1 : first.list, firstForward, tokens: buckets.length };
}

function marker(kind: number, list: number, token: number, label: string): Op {
  const op = new Op();
  op.kind = kind;
  op.label = label;
  op.gradList = list;
  op.token = token;
  op.stream = GATHER_STREAM;
  return op;
}
