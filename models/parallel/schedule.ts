/**
 * Pipeline schedules: the order in which each pipeline rank runs forward and
 * backward passes of its model chunks, as Megatron-LM's 1F1B and interleaved
 * 1F1B schedules issue them. Timing comes from running these orders on the
 * engine with their data dependencies; nothing here assumes a bubble size.
 */

export interface Pass {
  kind: "F" | "B";
  /** Model chunk on this rank (0 ≤ chunk < virtualStages). */
  chunk: number;
  microBatch: number;
}

/**
 * Pass order on pipeline rank `rank` of `pp`, with `chunks` model chunks per rank
 * (virtual stages) and `microBatches` per step. Warm-up forwards, a steady
 * one-forward-one-backward phase, and cool-down backwards.
 */
export function pipelineSchedule(rank: number, pp: number, chunks: number, microBatches: number): Pass[] {
  const total = microBatches * chunks;
  let warmup: number;
  if (chunks === 1) warmup = Math.min(microBatches, pp - rank - 1);
  else if (microBatches === pp) warmup = total;
  else warmup = Math.min(total, (pp - rank - 1) * 2 + (chunks - 1) * pp);
  const group = pp * chunks;
  const chunkOf = (k: number, forward: boolean): number => {
    const c = Math.floor((k % group) / pp);
    return forward ? c : chunks - 1 - c;
  };
  const microBatchOf = (k: number): number => (chunks === 1 ? k : Math.floor(k / group) * pp + (k % pp));
  const out: Pass[] = [];
  const forward = (k: number): void => {
    out.push({ kind: "F", chunk: chunkOf(k, true), microBatch: microBatchOf(k) });
  };
  const backward = (k: number): void => {
    out.push({ kind: "B", chunk: chunkOf(k, false), microBatch: microBatchOf(k) });
  };
  for (let k = 0; k < warmup; k++) forward(k);
  const remaining = total - warmup;
  for (let i = 0; i < remaining; i++) {
    forward(warmup + i);
    backward(i);
  }
  for (let k = remaining; k < total; k++) backward(k);
  return out;
}

/**
 * Micro-batch-chunks whose activations a rank holds at its peak: the warm-up
 * forwards plus the one in flight (Korthikanti et al. 2022, Sec. 4.2.3: the
 * first stage of 1F1B holds p micro-batches; interleaving adds (p−1)/(p·v)).
 */
export function peakInFlight(rank: number, pp: number, chunks: number, microBatches: number): number {
  const order = pipelineSchedule(rank, pp, chunks, microBatches);
  let live = 0;
  let peak = 0;
  for (const p of order) {
    live += p.kind === "F" ? 1 : -1;
    if (live > peak) peak = live;
  }
  return peak;
}

/** One rank's pass order packed for the executor: kind (0 F, 1 B), chunk, micro-batch, and 1 on each chunk's last backward. */
export interface ScheduleTable {
  kind: Uint8Array;
  chunk: Int32Array;
  microBatch: Int32Array;
  lastBackward: Uint8Array;
}

export function scheduleTable(rank: number, pp: number, chunks: number, microBatches: number): ScheduleTable {
  const order = pipelineSchedule(rank, pp, chunks, microBatches);
  const t: ScheduleTable = { kind: new Uint8Array(order.length), chunk: new Int32Array(order.length), microBatch: new Int32Array(order.length), lastBackward: new Uint8Array(order.length) };
  const lastIdx = new Int32Array(chunks).fill(-1);
  order.forEach((ps, i) => {
    t.kind[i] = ps.kind === "F" ? 0 : 1;
    t.chunk[i] = ps.chunk;
    t.microBatch[i] = ps.microBatch;
    if (ps.kind === "B") lastIdx[ps.chunk] = i;
  });
  for (const i of lastIdx) if (i >= 0) t.lastBackward[i] = 1;
  return t;
}
