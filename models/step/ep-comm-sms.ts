/**
 * SMs an expert-parallel dispatch or combine takes from the compute it overlaps.
 *
 * The EP all-to-all runs as communication kernels whose thread blocks each hold an SM while they
 * run (comm-interference.ts: NCCL's one CTA per channel, NVIDIA/nccl#689). When it overlaps
 * compute (parallelism.moeOverlap: shared experts, or another micro-batch's attention under
 * combined 1F1B / DualPipe), the compute beside it runs on the other SMs for as long as it runs.
 * NCCL's all-to-all takes the accelerator's channel count (efficiency.commSmsScaleUp within the
 * scale-up domain, commSmsPerNic per member on a node across nodes); DeepEP's normal kernels take
 * the SMs Megatron-Core gives them, 20 by default (megatron/core/transformer/transformer_config.py
 * moe_deepep_num_sms, 'historical default 20'; DeepEP's Buffer.set_num_sms). Exposed
 * all-to-alls block the compute stream: nothing runs beside them to lose SMs.
 */
import type { Accelerator } from "../hardware/types.ts";
import { commSmFraction } from "./comm-interference.ts";

/** SMs of DeepEP's dispatch and combine kernels (Megatron-Core moe_deepep_num_sms default). */
export const DEEPEP_SMS = 20;

/**
 * Fraction of the SMs an overlapped EP collective holds; `perNode` 0 within one node, else members
 * per node; `sms` as the run set them (parallelism.moeDispatchSms), else the library's default.
 */
export function epCommSmFraction(gpu: Accelerator, deepep: boolean, perNode: number, sms?: number): number {
  if (sms === undefined && !deepep) return commSmFraction(gpu, perNode);
  if (gpu.smCount <= 1) return 0;
  return Math.min(sms ?? DEEPEP_SMS, gpu.smCount - 1) / gpu.smCount;
}

/**
 * SM work (in peak-FLOP units) of kernels that run beside a collective holding `fraction` of the
 * SMs for `commSeconds`: while it runs they get (1 − fraction) of the SMs. If they finish within
 * it, their work stretches by 1/(1 − fraction); otherwise they lose fraction × commSeconds of SM time.
 */
export function besideCommSmWork(smWork: number, peak: number, commSeconds: number, fraction: number): number {
  if (!(fraction > 0) || !(commSeconds > 0) || !(smWork > 0)) return smWork;
  const alone = smWork / peak;
  if (commSeconds * (1 - fraction) >= alone) return smWork / (1 - fraction);
  return smWork + fraction * commSeconds * peak;
}
