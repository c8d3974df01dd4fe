/**
 * GPU power from what the GPU is doing and its clock.
 *
 *   P = idle + (TDP − idle) · s · c^γ
 *
 * c is the SM clock relative to the sustained clock under the default power
 * limit (where the accelerator's GEMM calibration was measured, so c = 1 is
 * "as calibrated"), s the activity's share of the dynamic range at c = 1, and
 * γ the DVFS exponent: dynamic power ∝ f·V², with V rising about linearly with
 * f over the upper DVFS range, gives γ between 2 and 3.
 *
 * One calibration for every accelerator, scaled by its TDP and idle power, except
 * γ, which an accelerator may carry (Accelerator.dvfsExponent, with its source):
 * - γ = 2.5 (DVFS_EXPONENT, the default): Patel et al. (ASPLOS'24, "Characterizing
 *   Power Management Opportunities for LLMs in the Cloud") cut peak power ~20 % for
 *   ~10 % training slowdown on A100 by locking clocks: 0.9^2.5 = 0.77 of the dynamic
 *   power. An A100 runs its GEMMs near its top clock at 400 W (HPL: 1305 of 1410 MHz),
 *   high on its voltage-frequency curve, where V rises with f.
 * - Blackwell (B200, GB200, GB300) γ = 1.3 (catalog BLACKWELL_DVFS_EXPONENT): at its default
 *   limit a Blackwell GEMM already runs at ~0.7 of its top clock (B200 at 1000 W:
 *   1228-1460 of 1965 MHz), near the voltage floor, where power falls about linearly
 *   with the clock. Kernel-level power-limit sweeps on Blackwell measure it: a cuBLAS
 *   8192³ GEMM on an RTX PRO 6000 Blackwell from 600 W down to 240 W (BF16 and FP8,
 *   γ 1.25 / 1.41 fitted) and a GB300 cuBLAS GEMM at 500 of 1400 W (γ 1.0-1.4);
 *   docs/calibration.md "Power limits on Blackwell".
 * - GEMM-bound kernels at s = 1: dense GEMMs run at the power limit.
 * - memory-bound kernels at s = 0.6 (HBM and the memory pipeline busy, tensor
 *   cores mostly idle);
 * - communication at s = 0.45: the same study sees training power fall to ~50 %
 *   of TDP in the synchronisation phase of GPT-NeoX iterations (≈ 0.45 of the
 *   dynamic range for A100 and H100);
 * - waiting with nothing running at s = 0.1 (clocks up, no work);
 * - communication overlapping a kernel adds 0.15.
 */
import type { Accelerator } from "../hardware/types.ts";

export const DVFS_EXPONENT = 2.5;
/** The accelerator's DVFS exponent: its own where the catalog gives one (a {base: ...} override keeps it), else 2.5. */
export function dvfsExponentOf(gpu: Accelerator): number {
  return gpu.dvfsExponent ?? DVFS_EXPONENT;
}

export type PowerClass = "gemm" | "memory" | "comm" | "idle";

export const ACTIVITY_SHARE: Readonly<Record<PowerClass, number>> = { gemm: 1, memory: 0.6, comm: 0.45, idle: 0.1 };
export const OVERLAPPED_COMM_SHARE = 0.15;
/** Lowest clock the controller will set (DVFS floor, ~40 % of boost on A100/H100). */
export const MIN_CLOCK = 0.4;

export function activityShare(cls: PowerClass, backgroundComm: boolean): number {
  return ACTIVITY_SHARE[cls] + (backgroundComm && cls !== "comm" ? OVERLAPPED_COMM_SHARE : 0);
}

export function gpuPowerWatts(gpu: Accelerator, share: number, clock: number): number {
  return gpu.idleWatts + (gpu.tdpWatts - gpu.idleWatts) * share * clock ** dvfsExponentOf(gpu);
}

/** The highest clock (≤ 1) at which this activity stays within `limitWatts`. */
export function clockForLimit(gpu: Accelerator, share: number, limitWatts: number): number {
  const dynamic = (gpu.tdpWatts - gpu.idleWatts) * share;
  if (dynamic <= 0) return 1;
  const headroom = limitWatts - gpu.idleWatts;
  if (headroom <= 0) return MIN_CLOCK;
  const c = (headroom / dynamic) ** (1 / dvfsExponentOf(gpu));
  return Math.max(MIN_CLOCK, Math.min(1, c));
}
