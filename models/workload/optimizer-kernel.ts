/**
 * The AdamW update's HBM traffic by implementation (workload.optimizerImplementation), in
 * element passes per parameter: reads plus writes of parameter-sized tensors.
 *
 * - fused (default): one kernel reads g, p, m, v and writes p, m, v: 7 passes
 *   (torch.optim.AdamW(fused=True), apex / Transformer Engine FusedAdam, Megatron's optimizer).
 * - foreach: torch.optim.AdamW's default on CUDA when neither fused nor foreach is given
 *   (`_default_to_fused_or_foreach(..., use_fused=False)` picks foreach, PyTorch 2.0-2.x), run
 *   as `_multi_tensor_adamw`'s sequence of horizontally fused `torch._foreach_*` ops, each a
 *   full read-modify-write of its tensor lists (torch/optim/adamw.py, PyTorch 2.2-2.3):
 *   _foreach_mul_(params, 1 − lr·wd) r p, w p 2; _foreach_lerp_(m, g) r m, g, w m 3;
 *   _foreach_mul_(v, β2) 2; _foreach_addcmul_(v, g, g) r v, g, w v 3; s = _foreach_sqrt(v)
 *   r v, w s 2; _foreach_div_(s, bias_correction2_sqrt) 2; _foreach_add_(s, eps) 2;
 *   _foreach_addcdiv_(p, m, s, step_size) r p, m, s, w p 4: 20 passes with weight decay
 *   (AdamW's default 0.01). Its launches (multi_tensor_apply chunks) hide behind these
 *   bandwidth-bound kernels and are not charged; the intermediate list s (one state-sized
 *   tensor) is not added to the memory peak.
 */
import type { OptimizerImplementation } from "../scenario.ts";

export function adamUpdatePasses(impl: OptimizerImplementation | undefined): number {
  return impl === "foreach" ? 20 : 7;
}
