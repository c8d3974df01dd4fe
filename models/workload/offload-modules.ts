/**
 * Megatron-Core's fine-grained activation offloading (--fine-grained-activation-offloading
 * --offload-modules ...), as NVIDIA/Megatron-LM runs it at commit d98e8a6 (2026-08-22):
 * - expert_fc1: the tensors the routed experts' fc1 saves, its input (the permuted token copies;
 *   in an MXFP8/NVFP4 run its quantized copy, else the original input: experts.py
 *   set_save_original_input), go to host memory (experts.py, expert_fc1_manager).
 * - moe_act: what the activation saves, its input (fc1's output); with moe_act also recomputed the
 *   checkpoint keeps that same input, which is offloaded and reloaded before the recompute
 *   (experts.py: the group is committed after fc2 "to make sure the fc1_output is reloaded to GPU
 *   before recomputing moe_act"), while the recompute drops the activation's output.
 * A tensor below min_offloaded_tensor_size (1024·1024 elements, the default) stays on the GPU.
 * The copies run on their own streams (fine_grained_activation_offload.py: d2h_stream after the
 * group's forward, h2d_stream one layer ahead in backward); the last group of each name is kept
 * on the GPU so its reload never stalls backward (post_warmup_callback, the offload margin).
 */
import type { OffloadModule } from "../scenario.ts";
import { moeSavedTerms } from "./recompute-modules.ts";

/** transformer_config.py min_offloaded_tensor_size, default 1024 * 1024 elements. */
export const MIN_OFFLOADED_ELEMENTS = 1024 * 1024;

type LayerShape = Parameters<typeof moeSavedTerms>[0];
type LayerDims = Parameters<typeof moeSavedTerms>[1];

/**
 * Bytes of one MoE layer's saved activations, per micro-batch and rank, that the listed modules
 * move to host memory (0 for a dense layer). q: bytes per element of a linear layer's saved input;
 * fc1Saved: of fc1's input when it is offloaded (the original input's e under FP8 recipes other than MXFP8).
 */
export function offloadedModuleBytes(x: LayerShape, d: LayerDims, q: number, modules: readonly OffloadModule[] | undefined, fc1Saved = q): number {
  if (modules === undefined || modules.length === 0 || x.model.experts <= 1) return 0;
  const t = moeSavedTerms(x, d, q);
  let bytes = 0;
  // The tensors' element counts: copies·h for fc1's input (t.expertInputs is q·that), copies·ffn·gate for its output (t.experts − t.expertActOutputs is e·that).
  if (modules.includes("expert_fc1") && t.expertInputs / q >= MIN_OFFLOADED_ELEMENTS) bytes += (t.expertInputs / q) * fc1Saved;
  const fc1Output = t.experts - t.expertActOutputs;
  if (modules.includes("moe_act") && fc1Output / x.elementBytes >= MIN_OFFLOADED_ELEMENTS) bytes += fc1Output;
  return bytes;
}

/**
 * Why an --offload-modules entry cannot apply to this run, or null: the model lacks the layers,
 * or Megatron-Core's TransformerConfig refuses the combination.
 */
export function offloadModulesProblem(module: OffloadModule, experts: number, p: { recompute: string; recomputeModules?: readonly string[]; remat?: unknown; offloading: boolean }, layerImplementation: string): string | null {
  if (layerImplementation === "eager") return "offloadModules are Megatron-Core's; the eager layer is Hugging Face's (layerImplementation eager)";
  if (experts <= 1) return "the model has no mixture-of-experts layers (experts 1)";
  if (p.offloading) return "Megatron-Core refuses fine-grained activation offloading with whole-layer offloading (--cpu-offloading: parallelism.offloadActivations); give one of them";
  if (p.recompute === "selective" && p.recomputeModules?.includes("moe") === true) return "Megatron-Core refuses it with moe in --recompute-modules (the whole MoE layer is recomputed, nothing inside it is kept to offload)";
  if (p.recompute === "full" || p.remat !== undefined) return "recompute full keeps only each layer's input, nothing inside the experts to offload (use recompute selective or none)";
  if (p.recompute === "per-op") return "recompute per-op is torchtitan's; offloadModules are Megatron-Core's (use recompute selective or none)";
  return null;
}
