/**
 * Communication kernels take SMs from compute.
 *
 * NCCL runs a collective as a kernel with one thread block (CTA) per channel, and a
 * channel's CTA holds a whole SM for as long as the kernel runs: NCCL uses all of an
 * SM's registers, so compute never shares it (S. Jeaugey, NVIDIA/nccl#689). So while a
 * rank's data-parallel stream runs a collective (bucketed gradient reduction, ZeRO-3 /
 * FSDP gathers and reduce-scatters), its compute runs on the other SMs: the rank's SM
 * capacity is peak · clock · (1 − CTAs / SMs), set through the engine like the power
 * model's clocks. The kernel holds its SMs from the moment it is launched, waiting for
 * its peers included, until its group is released. Its HBM traffic is already work on
 * the rank's HBM resource (program.ts, collectives/alpha-beta.ts), shared fairly with
 * memory-bound kernels by the fluid model.
 *
 * CTAs per collective come from the accelerator's calibration
 * (`efficiency.commSmsScaleUp` within the scale-up domain, `commSmsScaleOut` across
 * nodes); a GPU without them (or with 0) loses no SMs. Collectives on the compute stream
 * block compute anyway, so only the data-parallel stream is counted here.
 */
import type { Resource } from "../../sim/fluid.ts";
import type { FluidSpec, Uncontended } from "../../sim/uncontended.ts";
import { CATEGORY_INDEX } from "../categories.ts";
import type { Accelerator } from "../hardware/types.ts";
import { COLLECTIVE, ROLES, SM, type Op } from "./program.ts";

const NETWORK = CATEGORY_INDEX.network;

/** Fraction of the SMs a collective's kernel holds (`sms` CTAs of `smCount`); at least one SM stays with compute. */
export function commSmFraction(gpu: Accelerator, crossesNodes: boolean): number {
  const sms = crossesNodes ? gpu.efficiency.commSmsScaleOut : gpu.efficiency.commSmsScaleUp;
  if (sms === undefined || !(sms > 0) || gpu.smCount <= 1) return 0;
  return Math.min(sms, gpu.smCount - 1) / gpu.smCount;
}

/** Per rank: the SMs its data-parallel stream's communication kernel holds and its clock; sets its SM capacity. */
export class CommSms {
  /** Fraction of the SMs held by communication, and the clock the power model set, per rank. */
  readonly held: Float64Array;
  readonly clock: Float64Array;
  private readonly scaleUp: number;
  private readonly scaleOut: number;

  constructor(
    gpu: Accelerator,
    ranks: number,
    private readonly u: Uncontended,
    private readonly res: Resource[],
    private readonly rankPeak: Float64Array,
    private readonly spec: FluidSpec,
  ) {
    this.held = new Float64Array(ranks);
    this.clock = new Float64Array(ranks).fill(1);
    this.scaleUp = commSmFraction(gpu, false);
    this.scaleOut = commSmFraction(gpu, true);
  }

  /** Rank `g`'s data-parallel stream starts `op` (undefined: it goes idle). Capacity changes only when the held SMs do. */
  dpOp(g: number, op: Op | undefined): void {
    const f = op !== undefined && op.kind === COLLECTIVE ? (op.linkCategory === NETWORK ? this.scaleOut : this.scaleUp) : 0;
    if (f === this.held[g]) return;
    this.held[g] = f;
    this.apply(g);
  }

  /** StageClocks for ranks [from, to): the power model set their clock. */
  setClock(from: number, to: number, clock: number): void {
    for (let g = from; g < to; g++) {
      this.clock[g] = clock;
      this.apply(g);
    }
  }

  private apply(g: number): void {
    // With nothing held, (1 − 0) leaves peak · clock exactly as without this model.
    this.u.setCapacity(this.res[g * ROLES + SM] as Resource, (this.rankPeak[g] as number) * (this.clock[g] as number) * (1 - (this.held[g] as number)), this.spec);
  }
}
