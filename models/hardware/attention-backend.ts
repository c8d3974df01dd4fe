/**
 * Which flash-attention kernel a run's attention levels come from (workload.attentionBackend).
 * An accelerator's efficiency holds the levels of the kernel its catalog entry measured
 * (`attentionBackend`, default flash-attention) and, where published, cuDNN's as
 * `cudnn*` fields (AOTriton's as `aotriton*` on AMD parts); choosing that backend swaps those in,
 * so the attention cost model is unchanged.
 */
import type { Accelerator, AttentionBackend, EfficiencyCalibration } from "./types.ts";

/** The kernel `gpu`'s attention fields measure. */
export function baseAttentionBackend(gpu: Accelerator): AttentionBackend {
  return gpu.attentionBackend ?? "flash-attention";
}

/**
 * The backends `gpu` has levels for: its own, and the other kernel's where the catalog (or the config)
 * gives them; FlashAttention 1 beside FlashAttention-2 on NVIDIA GPUs (it takes FA2's levels: see
 * withAttentionBackend).
 */
export function attentionBackendsOf(gpu: Accelerator): AttentionBackend[] {
  const own = baseAttentionBackend(gpu);
  if (own === "cudnn") return gpu.efficiency.fa2AttentionPeakFraction !== undefined ? [own, "flash-attention"] : [own];
  const fa1: AttentionBackend[] = own === "flash-attention" && gpu.vendor === "NVIDIA" ? ["flash-attention-1"] : [];
  const aotriton: AttentionBackend[] = own === "flash-attention" && gpu.efficiency.aotritonAttentionPeakFraction !== undefined ? ["aotriton"] : [];
  return gpu.efficiency.cudnnAttentionPeakFraction !== undefined ? [own, ...fa1, "cudnn", ...aotriton] : [own, ...fa1, ...aotriton];
}

type LevelField = "attentionPeakFraction" | "attentionBackwardPeakFraction" | "fp8AttentionPeakFraction" | "fp8AttentionBackwardPeakFraction" | "attentionFillKeys" | "attentionBackwardFillKeys";

/**
 * `gpu`'s efficiency with another kernel's levels in the attention fields (a field whose level is
 * missing is deleted: its derivation from the others applies), and the sources the catalog gives
 * them (`efficiency.<prefix>Field`) moved onto the plain fields; `unsourced` lists the fields it
 * gives none for.
 */
function swapLevels(gpu: Accelerator, prefix: "cudnn" | "fa2" | "aotriton", levels: readonly (readonly [LevelField, number | undefined])[]) {
  const efficiency: EfficiencyCalibration = { ...gpu.efficiency };
  const sources = { ...gpu.sources };
  const unsourced: LevelField[] = [];
  for (const [field, value] of levels) {
    if (value === undefined) delete efficiency[field];
    else efficiency[field] = value;
    const own = sources[`efficiency.${prefix}${field[0]!.toUpperCase()}${field.slice(1)}`];
    if (own !== undefined) sources[`efficiency.${field}`] = own;
    else unsourced.push(field);
  }
  return { efficiency, sources, unsourced };
}

/** A cuDNN-measured GPU (Blackwell) with FlashAttention-2's levels swapped in; FA2 has no FP8 kernel. */
function withFlashAttention2(gpu: Accelerator): Accelerator {
  const e = gpu.efficiency;
  if (e.fa2AttentionPeakFraction === undefined) throw new Error(`${gpu.name} has no flash-attention attention levels`);
  const { efficiency, sources, unsourced } = swapLevels(gpu, "fa2", [
    ["attentionPeakFraction", e.fa2AttentionPeakFraction],
    ["attentionBackwardPeakFraction", e.fa2AttentionBackwardPeakFraction],
    ["attentionFillKeys", e.fa2AttentionFillKeys],
    ["attentionBackwardFillKeys", e.fa2AttentionBackwardFillKeys],
    ["fp8AttentionPeakFraction", undefined],
    ["fp8AttentionBackwardPeakFraction", undefined],
  ]);
  // No FA2 source: the plain field's (cuDNN's) would be wrong.
  for (const field of unsourced) delete sources[`efficiency.${field}`];
  // The FA2 levels were fitted to tritonbench's do_bench timings (back-to-back calls, no pauses),
  // not to the free-clock protocol attentionClockRatio corrects: they are taken as timed.
  delete efficiency.attentionClockRatio;
  delete efficiency.fp8RunAttentionClockRatio;
  return { ...gpu, efficiency, attentionBackend: "flash-attention", sources };
}

/**
 * An AMD GPU measured on CK's FlashAttention-2 with AOTriton's BF16 levels swapped in. No AOTriton FP8
 * attention table: the FP8 fields are deleted, so an FP8 attention derives from the BF16 forward
 * (kernel.ts); the fills keep the defaults (ATTENTION_FILL_KEYS).
 */
function withAotriton(gpu: Accelerator): Accelerator {
  const e = gpu.efficiency;
  if (e.aotritonAttentionPeakFraction === undefined) throw new Error(`${gpu.name} has no aotriton attention levels`);
  const { efficiency, sources, unsourced } = swapLevels(gpu, "aotriton", [
    ["attentionPeakFraction", e.aotritonAttentionPeakFraction],
    ["attentionBackwardPeakFraction", e.aotritonAttentionBackwardPeakFraction],
    ["fp8AttentionPeakFraction", undefined],
    ["fp8AttentionBackwardPeakFraction", undefined],
    ["attentionFillKeys", undefined],
    ["attentionBackwardFillKeys", undefined],
  ]);
  for (const field of unsourced) delete sources[`efficiency.${field}`];
  return { ...gpu, efficiency, attentionBackend: "aotriton", sources };
}

/** `gpu` with `backend`'s attention levels in its attention fields (the same object if they are there already). */
export function withAttentionBackend(gpu: Accelerator, backend: AttentionBackend | undefined): Accelerator {
  if (backend === undefined || backend === baseAttentionBackend(gpu)) return gpu;
  // FlashAttention 1 keeps FA2's levels (no kernel-level FA1 table found as text; the FA2 paper, arXiv
  // 2307.08691, puts FA2 at about twice FA1, so these are an upper bound) and differs by its head-dim
  // kernels only (models/compute/attention-head-dim.ts).
  if (backend === "flash-attention-1" && attentionBackendsOf(gpu).includes(backend)) return { ...gpu, attentionBackend: backend };
  if (backend === "flash-attention") return withFlashAttention2(gpu);
  if (backend === "aotriton") return withAotriton(gpu);
  const e = gpu.efficiency;
  if (backend !== "cudnn" || e.cudnnAttentionPeakFraction === undefined) throw new Error(`${gpu.name} has no ${backend} attention levels`);
  // A cuDNN level the catalog lacks falls back to the derivation the plain field's absence implies.
  const { efficiency, sources } = swapLevels(gpu, "cudnn", [
    ["attentionPeakFraction", e.cudnnAttentionPeakFraction],
    ["attentionBackwardPeakFraction", e.cudnnAttentionBackwardPeakFraction],
    ["fp8AttentionPeakFraction", e.cudnnFp8AttentionPeakFraction],
    ["fp8AttentionBackwardPeakFraction", e.cudnnFp8AttentionBackwardPeakFraction],
    ["attentionFillKeys", e.cudnnAttentionFillKeys],
    ["attentionBackwardFillKeys", e.cudnnAttentionBackwardFillKeys],
  ]);
  return { ...gpu, efficiency, attentionBackend: "cudnn", sources };
}
