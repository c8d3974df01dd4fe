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
 * CTAs per collective come from the accelerator's calibration: `efficiency.commSmsScaleUp`
 * within the scale-up domain; across nodes NCCL runs channels per NIC, so
 * `commSmsPerNic` × the group's members on a node (each drives its own NIC: 2 SMs for a
 * rail-aligned group of one GPU per node, 16 for a group spanning 8-GPU nodes). A GPU
 * without them (or with 0) loses no SMs. Collectives on the compute stream block compute
 * anyway, so only the data-parallel stream is counted here.
 */
import type { Resource } from "../../sim/fluid.ts";
import type { FluidSpec, Uncontended } from "../../sim/uncontended.ts";
import type { Accelerator } from "../hardware/types.ts";
import { COLLECTIVE, ROLES, SM, type Op } from "./ops.ts";

/**
 * Fraction of the SMs a collective's kernel holds, its group within one node
 * (`perNode` 0) or across nodes with `perNode` members on each; at least one SM stays
 * with compute.
 */
export function commSmFraction(gpu: Accelerator, perNode: number): number {
  const e = gpu.efficiency;
  const sms = perNode > 0 ? (e.commSmsPerNic ?? 0) * perNode : (e.commSmsScaleUp ?? 0);
  if (!(sms > 0) || gpu.smCount <= 1) return 0;
  return Math.min(sms, gpu.smCount - 1) / gpu.smCount;
}

/** Members per node looked up in a table (a node's NICs; the SM cap applies beyond). */
const MAX_PER_NODE = 72;

/**
 * Per rank: the SMs the communication kernels of its data-parallel streams hold (reductions,
 * FSDP gathers: each may run one) and its clock; sets its SM capacity.
 */
export class CommSms {
  /** Fraction of the SMs held per stream slot s = rank + ranks × stream; the clock the power model set, per rank. */
  readonly held: Float64Array;
  readonly clock: Float64Array;
  /** Most of the SMs communication can hold: one stays with compute. */
  private readonly most: number;
  /** Fraction held by a collective within one node, and across nodes by members per node (index). */
  private readonly fraction: Float64Array;

  constructor(
    gpu: Accelerator,
    private readonly ranks: number,
    private readonly streams: number,
    private readonly u: Uncontended,
    private readonly res: Resource[],
    private readonly rankPeak: Float64Array,
    private readonly spec: FluidSpec,
  ) {
    this.held = new Float64Array(ranks * streams);
    this.most = gpu.smCount > 1 ? (gpu.smCount - 1) / gpu.smCount : 0;
    this.clock = new Float64Array(ranks).fill(1);
    this.fraction = Float64Array.from({ length: MAX_PER_NODE + 1 }, (_, k) => commSmFraction(gpu, k));
  }

  /** Data-parallel stream slot `s` starts `op` (undefined: it goes idle). Capacity changes only when the held SMs do. */
  dpOp(s: number, op: Op | undefined): void {
    const f = op !== undefined && op.kind === COLLECTIVE ? (this.fraction[Math.min(op.groupPerNode, MAX_PER_NODE)] as number) : 0;
    if (f === this.held[s]) return;
    this.held[s] = f;
    this.apply(s % this.ranks);
  }

  /** StageClocks for ranks [from, to): the power model set their clock. */
  setClock(from: number, to: number, clock: number): void {
    for (let g = from; g < to; g++) {
      this.clock[g] = clock;
      this.apply(g);
    }
  }

  private apply(g: number): void {
    let held = 0;
    for (let k = 0; k < this.streams; k++) held += this.held[g + k * this.ranks] as number;
    // With nothing held, (1 − 0) leaves peak · clock exactly as without this model.
    this.u.setCapacity(this.res[g * ROLES + SM] as Resource, (this.rankPeak[g] as number) * (this.clock[g] as number) * (1 - Math.min(held, this.most)), this.spec);
  }
}
