/**
 * DeepSpeed ZeRO-3's parameter fetching, as its coordinator does it (deepspeed/runtime/zero/
 * partitioned_param_coordinator.py and parameter_offload.py; v0.12.3–v0.19.6 alike):
 *
 * - Every nn.Module gets hooks; each one's pre-forward (and pre-backward) hook calls
 *   fetch_sub_module with the module's own parameters (recurse=False). Parameterless
 *   containers (a decoder layer, its attention and MLP, the activation) are in the trace too.
 * - fetch_sub_module: all-gather the module's parameters that are not gathered or in flight;
 *   wait for them; then `current_stream().wait_stream(allgather_stream)`: the compute stream
 *   joins everything issued on the gather stream so far; then, once a trace is recorded,
 *   prefetch the next parameters in trace order, skipping gathered ones, until this round's
 *   new elements reach min(stage3_prefetch_bucket_size, stage3_max_live_parameters − live)
 *   (so at least one parameter while live < max-live), as one coalesced all-gather.
 * - release_sub_module after the module's forward (backward): free its parameters unless a
 *   prefetch already claimed a later use, or they are used again within
 *   stage3_max_reuse_distance elements of the trace ahead.
 * - Parameters of at most stage3_param_persistence_threshold elements are never partitioned.
 *
 * This module replays that rule over one micro-batch's trace: which parameters each hook
 * gathers itself, which it prefetches, and the most elements live at once.
 */
import type { ModelSpec } from "../scenario.ts";
import { headDim } from "./head-dim.ts";

/** One hooked module: its own parameters as element counts per rank (empty: a container). */
export interface ZeroModule {
  name: string;
  params: number[];
}

/** A module's hook in the trace: the parameters (global ids) it fetches. */
export interface TraceHook {
  module: string;
  params: number[];
}

export interface Zero3FetchSettings {
  /** stage3_prefetch_bucket_size (elements; 0: no prefetch). */
  prefetchBucket: number;
  /** stage3_max_live_parameters (elements). */
  maxLive: number;
  /** stage3_max_reuse_distance (elements). */
  maxReuse: number;
  /** stage3_param_persistence_threshold (elements). */
  persistence: number;
}

/** DeepSpeed's defaults (deepspeed/runtime/zero/config.py, v0.14.0). */
export const DEEPSPEED_ZERO3_DEFAULTS: Zero3FetchSettings = { prefetchBucket: 5e7, maxLive: 1e9, maxReuse: 1e9, persistence: 1e5 };
/** reduce_bucket_size's default (same file): gradient elements per reduce-scatter. */
export const DEEPSPEED_REDUCE_BUCKET = 5e8;

export interface HookFetch {
  /** Elements gathered at this hook for its own module (not prefetched earlier). */
  fetch: number;
  /** Elements prefetched at this hook, after the join. */
  prefetch: number;
}

export interface Zero3Schedule {
  hooks: HookFetch[];
  /** Most elements gathered (live or in flight) at once. */
  peakLive: number;
}

/**
 * A dense decoder layer's hooked modules in forward order, as Hugging Face's Llama-style
 * layers call them: the layer, input norm, attention (q, k, v, rotary, o), post-attention norm,
 * MLP (gate, activation, up, down; without a gate fc1, activation, fc2). Linear weights are
 * split over `tp` ranks; biases ride with their linear layer.
 */
export function denseLayerModules(m: ModelSpec, tp: number): ZeroModule[] {
  const hd = headDim(m);
  const h = m.hidden;
  const bias = m.bias === true;
  const lin = (name: string, inF: number, outF: number): ZeroModule => ({ name, params: bias ? [(inF * outF) / tp, outF / tp] : [(inF * outF) / tp] });
  const norm = (name: string): ZeroModule => ({ name, params: bias ? [h, h] : [h] });
  const mlp: ZeroModule[] = m.gatedMlp
    ? [{ name: "mlp", params: [] }, lin("gate", h, m.ffn), { name: "act", params: [] }, lin("up", h, m.ffn), lin("down", m.ffn, h)]
    : [{ name: "mlp", params: [] }, lin("fc1", h, m.ffn), { name: "act", params: [] }, lin("fc2", m.ffn, h)];
  return [
    { name: "layer", params: [] },
    norm("ln1"),
    { name: "attn", params: [] },
    lin("q", h, m.heads * hd),
    lin("k", h, m.kvHeads * hd),
    lin("v", h, m.kvHeads * hd),
    { name: "rotary", params: [] },
    lin("o", m.heads * hd, h),
    norm("ln2"),
    ...mlp,
  ];
}

/** The order pre-backward hooks fire in a layer: containers as their output's gradient arrives, leaves in reverse. */
export function backwardOrder(modules: ZeroModule[]): ZeroModule[] {
  const leaves = modules.filter((x) => x.name !== "layer" && x.name !== "attn" && x.name !== "mlp" && x.name !== "rotary");
  const mlpStart = leaves.findIndex((x) => x.name === "gate" || x.name === "fc1");
  const byName = new Map(modules.map((x) => [x.name, x]));
  const attnPart = leaves.slice(0, mlpStart).reverse();
  const mlpPart = leaves.slice(mlpStart).reverse();
  // ln2 (last of attnPart reversed first) belongs before the attention container.
  const ln2 = attnPart.shift() as ZeroModule;
  return [byName.get("layer") as ZeroModule, byName.get("mlp") as ZeroModule, ...mlpPart, ln2, byName.get("attn") as ZeroModule, ...attnPart];
}

/**
 * DeepSpeed's coordinator over `trace` (hooks in execution order, one micro-batch's forward and
 * backward): per hook, the elements it gathers for itself and those it prefetches; numel[i] is
 * parameter i's element count. Pure: the same trace gives the same schedule.
 */
export function zero3Schedule(trace: TraceHook[], numel: readonly number[], s: Zero3FetchSettings): Zero3Schedule {
  const persistent = numel.map((n) => n <= s.persistence);
  const gathered = new Uint8Array(numel.length);
  const lastClaimed = new Float64Array(numel.length).fill(-Infinity);
  // The parameter trace: each hook's parameters (sorted by id, as DeepSpeed sorts by ds_id) with its step.
  const queue: { param: number; step: number }[] = [];
  trace.forEach((hook, step) => [...new Set(hook.params)].sort((a, b) => a - b).forEach((param) => queue.push({ param, step })));
  // Suffix sums of elements per hook, for the reuse-distance walk.
  const hookNumel = trace.map((hook) => hook.params.reduce((sum, p) => sum + (numel[p] as number), 0));
  let head = 0;
  let live = 0;
  let peakLive = 0;
  const hooks: HookFetch[] = [];
  const releaseCandidates = (step: number, own: number[]): number[] => {
    const keep = new Set<number>();
    let traversed = 0;
    for (let j = step; j < trace.length && traversed < s.maxReuse; j++) {
      for (const p of (trace[j] as TraceHook).params) keep.add(p);
      traversed += hookNumel[j] as number;
    }
    return own.filter((p) => !persistent[p] && !keep.has(p) && !((lastClaimed[p] as number) > step));
  };
  for (let h = 0; h < trace.length; h++) {
    const own = [...new Set((trace[h] as TraceHook).params)];
    let fetch = 0;
    for (const p of own) {
      if (persistent[p] || gathered[p]) continue;
      gathered[p] = 1;
      fetch += numel[p] as number;
    }
    live += fetch;
    peakLive = Math.max(peakLive, live);
    // Pop this hook's own parameters off the queue unless a prefetch already claimed this use.
    let toPop = own.filter((p) => (lastClaimed[p] as number) < h).length;
    while (toPop > 0 && head < queue.length) {
      const e = queue[head++] as { param: number; step: number };
      lastClaimed[e.param] = e.step;
      toPop--;
    }
    let prefetch = 0;
    if (s.prefetchBucket > 0) {
      const budget = Math.min(s.maxLive - live, s.prefetchBucket);
      const picked = new Set<number>();
      while (head < queue.length && prefetch < budget) {
        const e = queue[head++] as { param: number; step: number };
        lastClaimed[e.param] = Math.max(lastClaimed[e.param] as number, e.step);
        if (persistent[e.param] || gathered[e.param] || picked.has(e.param)) continue;
        picked.add(e.param);
        prefetch += numel[e.param] as number;
      }
      for (const p of picked) gathered[p] = 1;
    }
    live += prefetch;
    peakLive = Math.max(peakLive, live);
    hooks.push({ fetch, prefetch });
    // Released after the module's pass, looking at the trace from the next hook on.
    for (const p of releaseCandidates(h + 1, own)) {
      if (!gathered[p]) continue;
      gathered[p] = 0;
      live -= numel[p] as number;
    }
  }
  return { hooks, peakLive };
}

/** Which pass a hook belongs to, and what it is. */
export interface StepHook extends TraceHook {
  pass: "forward" | "backward";
  /** "embedding", "head", "norm" or a layer module's name. */
  role: string;
  /** Model layer of a layer module (−1 otherwise); recompute hooks re-run the layer's forward in backward. */
  layer: number;
  recompute: boolean;
}

/**
 * One micro-batch's trace for a single-stage dense model: embedding, every layer's modules,
 * final norm, output layer; then backward: output layer, final norm, per layer (last first) its
 * recomputed forward (activation checkpointing) and its backward hooks, embedding. Returns the
 * hooks and each parameter's elements (per rank).
 */
export function stepTrace(m: ModelSpec, tp: number, recomputeFull: boolean): { hooks: StepHook[]; numel: number[] } {
  const numel: number[] = [];
  const ids = (params: number[]): number[] => params.map((n) => numel.push(n) - 1);
  const embedding = ids([(m.vocab * m.hidden + m.positionEmbeddings * m.hidden) / tp]);
  const modules = denseLayerModules(m, tp);
  const layers = Array.from({ length: m.layers }, () => new Map(modules.map((x) => [x.name, ids(x.params)])));
  const norm = ids(m.bias ? [m.hidden, m.hidden] : [m.hidden]);
  const head = m.tiedEmbeddings ? embedding : ids([(m.vocab * m.hidden) / tp]);
  const hooks: StepHook[] = [];
  const push = (pass: StepHook["pass"], role: string, params: number[], layer = -1, recompute = false): void => {
    hooks.push({ pass, role, module: role, params, layer, recompute });
  };
  push("forward", "embedding", embedding);
  for (let l = 0; l < m.layers; l++) for (const x of modules) push("forward", x.name, (layers[l] as Map<string, number[]>).get(x.name) as number[], l);
  push("forward", "norm", norm);
  push("forward", "head", head);
  push("backward", "head", head);
  push("backward", "norm", norm);
  const backward = backwardOrder(modules);
  for (let l = m.layers - 1; l >= 0; l--) {
    const own = layers[l] as Map<string, number[]>;
    if (recomputeFull) for (const x of modules) push("backward", x.name, own.get(x.name) as number[], l, true);
    for (const x of backward) push("backward", x.name, own.get(x.name) as number[], l);
  }
  push("backward", "embedding", embedding);
  return { hooks, numel };
}

/** The settings of parallelism.fsdpUnit: module, with DeepSpeed's defaults where a key is absent. */
export function zero3ModuleSettings(p: {
  fsdpPrefetchParams?: number;
  fsdpMaxLiveParams?: number;
  fsdpMaxReuseParams?: number;
  fsdpPersistParams?: number;
  fsdpReduceBucketParams?: number;
}): Zero3FetchSettings & { reduceBucket: number } {
  const d = DEEPSPEED_ZERO3_DEFAULTS;
  return {
    prefetchBucket: p.fsdpPrefetchParams ?? d.prefetchBucket,
    maxLive: p.fsdpMaxLiveParams ?? d.maxLive,
    maxReuse: p.fsdpMaxReuseParams ?? d.maxReuse,
    persistence: p.fsdpPersistParams ?? d.persistence,
    reduceBucket: p.fsdpReduceBucketParams ?? DEEPSPEED_REDUCE_BUCKET,
  };
}

/**
 * Bytes of gathered parameters and unreduced gradients at the busiest moment: the schedule's
 * peak live elements in the compute dtype, the largest module's fresh gradient, and the IPG
 * bucket DeepSpeed allocates flat (reduce_bucket_size elements, contiguous_gradients default).
 */
export function zero3ModuleBytes(m: ModelSpec, tp: number, recomputeFull: boolean, s: ReturnType<typeof zero3ModuleSettings>, elementBytes: number): number {
  const trace = stepTrace(m, tp, recomputeFull);
  const schedule = zero3Schedule(trace.hooks, trace.numel, s);
  const total = trace.numel.reduce((a, b) => a + b, 0);
  const largest = trace.hooks.reduce((most, hook) => Math.max(most, hook.params.reduce((sum, q) => sum + (trace.numel[q] as number), 0)), 0);
  return (schedule.peakLive + largest + Math.min(s.reduceBucket, total)) * elementBytes;
}
