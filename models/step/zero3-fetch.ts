/**
 * ZeRO-3 with DeepSpeed's submodule fetching (parallelism.fsdpUnit: module): the passes of a
 * single-stage dense model as hooks over its modules (../workload/zero3-trace.ts), each hook
 *   1. enqueuing the all-gather of its own parameters not gathered yet,
 *   2. joining the gather stream (its compute waits for every gather issued so far: DeepSpeed's
 *      current_stream().wait_stream(allgather_stream) in fetch_sub_module),
 *   3. enqueuing the coalesced prefetch the coordinator issues after that join,
 *   4. running the kernels between this hook and the next,
 * and the gradients handed to the reduce stream in DeepSpeed's IPG buckets: a reduce-scatter
 * whenever the next parameter's gradient would overflow reduce_bucket_size elements, the rest
 * after the backward (stage3.py reduce_independent_p_g_buckets_and_remove_grads, epilogue).
 */
import type { Kernel } from "../compute/kernel.ts";
import type { ModelSpec, Scenario } from "../scenario.ts";
import { embeddingKernels, headKernels, type KernelList, type LayerShape } from "../workload/layer-kernels.ts";
import { headDim } from "../workload/head-dim.ts";
import { stepTrace, zero3ModuleSettings, zero3Schedule, type StepHook, type Zero3Schedule } from "../workload/zero3-trace.ts";
import type { LayerKinds } from "./layer-kinds.ts";
import { GATHER_STREAM, PCIE_D2H, PCIE_H2D, type Op } from "./ops.ts";

/** What the compiler provides: data-parallel lists, their enqueue/wait ops, kernel ops (program.ts's Compiler). */
export interface ModuleCompiler {
  /** The list all-gathering `params` elements per rank (with parameter offload, their host copy first). */
  gatherList(params: number): number;
  /** The list reducing `params` gradient elements. */
  fsdpGrads(params: number): number;
  enqueue(list: number, token: number, stream?: number): Op[];
  wait(list: number, token: number): Op[];
  list(kernels: KernelList, times: number, label: string): Op[];
  /** Host copies spread over a pass's work ops (activation offload, activation-copy.ts). */
  withActivationCopy(ops: Op[], role: number, bytes: number): Op[];
}

/** Adds work riding on a hook's ops (activation offload copies); identity if none. */
type Decorate = (hook: StepHook, ops: Op[]) => Op[];

const EMPTY: KernelList = { kernels: [], collectives: [] };

/** A fused kernel's share (q of qkv, gate of fc1): FLOPs and bytes scaled, shape kept, so its efficiency is the fused one's. */
function share(k: Kernel, f: number): Kernel {
  return { ...k, flops: k.flops * f, bytes: k.bytes * f };
}

const is = (name: string, base: string): boolean => name === base || name.startsWith(`${base}.`);
/** Eager layers' separate projection GEMMs (eager-layer.ts), each its own module's hook. */
const EAGER_OWN = new Set(["q", "k", "v", "gate", "up", "down"]);

/**
 * A dense layer's kernel list cut at its module hooks. Forward (and a recomputed forward):
 * ln1 | q k v (shares of the fused qkv GEMM) | rotary: RoPE and the attention core, with the
 * layer's collectives | o: output projection, residual | ln2 | gate, up (shares of fc1) | act |
 * down: fc2, residual. Backward: layer: the residual | down | act | up, gate | ln2 | o: output
 * projection, attention core and RoPE, collectives | v k q | ln1. A kernel of another name stays
 * with the module before it.
 */
export function splitLayerKernels(list: KernelList, m: ModelSpec, backward: boolean): Map<string, KernelList> {
  const hd = headDim(m);
  const width = m.heads + 2 * m.kvHeads;
  const qkv: [string, number][] = [
    ["q", (m.heads * hd) / (width * hd)],
    ["k", m.kvHeads / width],
    ["v", m.kvHeads / width],
  ];
  const fc1: [string, number][] = m.gatedMlp
    ? [
        ["gate", 0.5],
        ["up", 0.5],
      ]
    : [["fc1", 1]];
  const fc2 = m.gatedMlp ? "down" : "fc2";
  const out = new Map<string, Kernel[]>();
  const add = (module: string, k: Kernel): void => {
    const at = out.get(module);
    if (at === undefined) out.set(module, [k]);
    else at.push(k);
  };
  let last = backward ? "layer" : "ln1";
  for (const k of list.kernels) {
    const n = k.name;
    let parts: [string, number][] | undefined;
    if (is(n, "qkv") && n !== "qkv.input-grad-add") parts = backward ? qkv.slice().reverse() : qkv;
    else if (is(n, "fc1")) parts = backward ? fc1.slice().reverse() : fc1;
    // Eager layers (layerImplementation eager) run each projection as its own GEMM, named by module.
    else if (EAGER_OWN.has(n) || EAGER_OWN.has(n.replace(/\.(dgrad|wgrad)$/, ""))) parts = [[n.replace(/\.(dgrad|wgrad)$/, ""), 1]];
    else if (n === "act.silu" || n === "act.silu.bwd") parts = [["act", 1]];
    // SiLU(gate) × up runs once up's output exists (HF LlamaMLP), its backward before up's.
    else if (n === "act.mul" || n === "act.mul.bwd") parts = [["up", 1]];
    else if (n === "ln1" || n === "ln1.bwd" || n === "bias-grad") parts = [["ln1", 1]];
    else if (n === "ln2" || n === "ln2.bwd" || n === "attn.residual.bwd") parts = [["ln2", 1]];
    else if (is(n, "proj") || n === "attn.residual") parts = [["o", 1]];
    else if (is(n, "attention") || is(n, "rope")) parts = [[backward ? "o" : "rotary", 1]];
    else if (n === "act" || n === "act.bwd") parts = [["act", 1]];
    else if (is(n, "fc2") || n === "mlp.residual") parts = [[fc2, 1]];
    else if (n === "mlp.residual.bwd") parts = [["layer", 1]];
    if (parts === undefined) parts = [[last, 1]];
    for (const [module, f] of parts) add(module, f === 1 ? k : share(k, f));
    last = (parts[parts.length - 1] as [string, number])[0];
  }
  const lists = new Map<string, KernelList>();
  for (const [module, kernels] of out) lists.set(module, { kernels, collectives: [] });
  // The layer's collectives (tensor, context parallel) run with the attention core.
  const core = backward ? "o" : "rotary";
  lists.set(core, { kernels: lists.get(core)?.kernels ?? [], collectives: list.collectives });
  return lists;
}

export interface ModulePasses {
  forward: Op[];
  backward: Op[];
  /** Token slots one pass needs (its gathers). */
  tokens: number;
}

/** The forward and backward pass of one micro-batch from the trace, its schedule and each hook's kernels. */
export function modulePasses(hooks: StepHook[], schedule: Zero3Schedule, numel: readonly number[], kernelsOf: (hook: StepHook) => KernelList, e: ModuleCompiler, decorate: Decorate, reduceBucket: number): ModulePasses {
  const passes: Record<StepHook["pass"], Op[]> = { forward: [], backward: [] };
  let tokens = 1;
  let pass: StepHook["pass"] | undefined;
  let token = 0;
  let last: [number, number] | undefined;
  let joined = true;
  let bucket = 0;
  const reduced = new Set<number>();
  const join = (ops: Op[]): void => {
    if (!joined && last !== undefined) ops.push(...e.wait(last[0], last[1]));
    joined = true;
  };
  const gather = (ops: Op[], elements: number): void => {
    if (elements <= 0) return;
    const list = e.gatherList(elements);
    const enq = e.enqueue(list, token, GATHER_STREAM);
    if (enq.length === 0) return;
    ops.push(...enq);
    last = [list, token++];
    tokens = Math.max(tokens, token);
    joined = false;
  };
  const flush = (ops: Op[]): void => {
    if (bucket > 0) ops.push(...e.enqueue(e.fsdpGrads(bucket), -1));
    bucket = 0;
  };
  hooks.forEach((hook, i) => {
    if (hook.pass !== pass) {
      // The first backward hook joins whatever the forward left in flight.
      if (pass !== undefined) join(passes[pass]);
      pass = hook.pass;
      token = 0;
      last = undefined;
      joined = true;
    }
    const ops = passes[pass];
    const f = schedule.hooks[i] as { fetch: number; prefetch: number };
    gather(ops, f.fetch);
    join(ops);
    gather(ops, f.prefetch);
    const label = hook.layer >= 0 ? `${hook.recompute ? "backward:recompute" : pass}:${hook.role}` : hook.pass === "forward" ? hook.role : `${hook.role}.bwd`;
    ops.push(...decorate(hook, e.list(kernelsOf(hook), 1, label)));
    if (pass === "backward" && !hook.recompute) {
      for (const p of hook.params) {
        // A tied embedding's gradient is one parameter's, reduced once.
        if (reduced.has(p)) continue;
        reduced.add(p);
        const n = numel[p] as number;
        if (bucket + n > reduceBucket && bucket > 0) flush(ops);
        bucket += n;
      }
    }
  });
  join(passes.backward);
  flush(passes.backward);
  return { forward: passes.forward, backward: passes.backward, tokens };
}

/**
 * Both passes of a single-stage dense model under fsdpUnit: module; `offloaded` bytes of each
 * layer's activations go to the host after its last forward module and come back with its
 * first backward module.
 */
export function compileModulePasses(s: Scenario, shape: LayerShape, kinds: LayerKinds, offloaded: number, e: ModuleCompiler): ModulePasses {
  const m = s.workload.model;
  const p = s.parallelism;
  const recomputeFull = p.recompute === "full";
  const settings = zero3ModuleSettings(p);
  const trace = stepTrace(m, p.tp, recomputeFull);
  const schedule = zero3Schedule(trace.hooks, trace.numel, settings);
  const cache = new Map<KernelList, Map<string, KernelList>>();
  const split = (list: KernelList, backward: boolean): Map<string, KernelList> => {
    let lists = cache.get(list);
    if (lists === undefined) cache.set(list, (lists = splitLayerKernels(list, m, backward)));
    return lists;
  };
  const kernelsOf = (hook: StepHook): KernelList => {
    if (hook.role === "embedding") return embeddingKernels(shape, hook.pass);
    if (hook.role === "head") return headKernels(shape, hook.pass);
    if (hook.layer < 0) return EMPTY;
    const kind = kinds.of(hook.layer);
    const list = hook.pass === "forward" ? kind.fwd : hook.recompute ? kind.rec : kind.bwd;
    const own = split(list, hook.pass === "backward" && !hook.recompute).get(hook.role) ?? EMPTY;
    // Selective recompute (no recompute hooks): the re-run attention core opens the layer's backward.
    if (!recomputeFull && hook.pass === "backward" && hook.role === "layer" && kind.rec.kernels.length > 0) return { kernels: [...kind.rec.kernels, ...own.kernels], collectives: [...kind.rec.collectives, ...own.collectives] };
    return own;
  };
  const last = m.gatedMlp ? "down" : "fc2";
  const decorate: Decorate = (hook, ops) => (offloaded > 0 && !hook.recompute && hook.role === last ? e.withActivationCopy(ops, hook.pass === "forward" ? PCIE_D2H : PCIE_H2D, offloaded) : ops);
  return modulePasses(trace.hooks, schedule, trace.numel, kernelsOf, e, decorate, settings.reduceBucket);
}
