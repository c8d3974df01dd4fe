/**
 * Power during a simulated step: every stage's metered GPU draws what its
 * streams run at its clock; caps act on the clock (StageClocks: the executor
 * sets the SM capacity of the stage's GPUs from it), so throttling lengthens
 * kernels and shows as the `power` category.
 *
 * - GPU cap (gpuPowerLimit, like `nvidia-smi -pl`): the GPU picks, whenever its
 *   activity changes, the highest clock that keeps it under its limit (GPU power
 *   management reacts in milliseconds, faster than the kernel groups we run).
 * - Facility cap: a controller samples facility power every
 *   `controllerInterval` and moves one per-GPU limit, shared by all GPUs, up or
 *   down so that the interval average meets the cap (a data-centre power
 *   controller handing budgets to GPUs).
 * Facility power = PUE × (GPUs + the rest of each node). With no cap set, the
 * clock stays at 1 and the step is exactly the one simulated without power.
 */
import type { EventQueue } from "../../sim/event-queue.ts";
import type { Scenario } from "../scenario.ts";
import { activityShare, clockForLimit, gpuPowerWatts, type PowerClass } from "./gpu-power.ts";
import type { RandomStream } from "../../sim/random.ts";

/**
 * CPUs, memory, NICs, NVSwitches, fans and power-supply loss per node, as a share
 * of its GPUs' TDP: a DGX H100 under heavy load draws ~7.8 kW (76 % of its 10.2 kW
 * rating, Brookhaven, arXiv 2506.14551) of which ~5.2 kW are GPUs.
 */
export const NODE_OVERHEAD_OF_GPU_TDP = 0.45;

/** What caps act on: the SM clock of each stage's GPUs (1 = full speed). */
/**
 * Controller intervals one step keeps (2^20: a step of 29 h at the default 0.1 s). A longer step
 * samples less often rather than growing without bound (docs/limits.md).
 */
export const MAX_CONTROL_INTERVALS = 2 ** 20;

type ControlInterval = StepPowerReport["controlIntervals"][number];

/** Adjacent intervals merged two by two: one spanning both, its mean power and cap weighted by time. */
export function mergeIntervalPairs(intervals: readonly ControlInterval[]): ControlInterval[] {
  const out: ControlInterval[] = [];
  for (let i = 0; i < intervals.length; i += 2) {
    const a = intervals[i] as ControlInterval;
    const b = intervals[i + 1];
    if (b === undefined) {
      out.push(a);
      continue;
    }
    const ta = a.end - a.start;
    const tb = b.end - b.start;
    const weighted = (x: number, y: number): number => (x * ta + y * tb) / (ta + tb);
    out.push({ start: a.start, end: b.end, meanWatts: weighted(a.meanWatts, b.meanWatts), capWatts: weighted(a.capWatts, b.capWatts) });
  }
  return out;
}

export interface StageClocks {
  setClock(stage: number, clock: number): void;
}

export interface PowerSeries {
  time: Float64Array;
  watts: Float64Array;
  length: number;
}

export interface StepPowerReport {
  /** Mean per-GPU power over the step, watts. */
  gpuMeanWatts: number;
  facilityMeanWatts: number;
  facilityPeakWatts: number;
  energyJoules: number;
  /** Facility power over time (piecewise constant from each point). */
  series: PowerSeries;
  /** Facility cap in force (watts), if any. */
  facilityCapWatts?: number;
  /** Per-GPU limit the facility controller ended on. */
  finalGpuLimitWatts?: number;
  controlIntervals: { start: number; end: number; meanWatts: number; capWatts: number }[];
  /** The facility cap over the step (from each `at` on; Infinity = none). */
  capSteps: { at: number; watts: number }[];
}

interface StageState {
  cls: PowerClass;
  background: number;
  clock: number;
  previousClock: number;
  clockChangedAt: number;
  watts: number;
}

export class StepPower {
  readonly active: boolean;
  private readonly stages: StageState[];
  /** How many GPUs each stage stands for. */
  private readonly stageGpus: Float64Array;
  private readonly gpu;
  private readonly pue: number;
  private readonly nodeOverheadWatts: number;
  private readonly gpuCap: number;
  private facilityCap: number | undefined;
  private readonly floorWatts: number;
  private gpuLimit: number;
  private lastTime = 0;
  private energy = 0;
  private gpuEnergy = 0;
  private facilityWatts = 0;
  private series: PowerSeries = { time: new Float64Array(1024), watts: new Float64Array(1024), length: 0 };
  private intervals: { start: number; end: number; meanWatts: number; capWatts: number }[] = [];
  private capSteps: { at: number; watts: number }[] = [];
  private intervalStartEnergy = 0;
  /** Highest facility draw held for a positive time since the interval started, watts. */
  private intervalPeakWatts = 0;
  private intervalStart = 0;
  private stopped = false;
  private readonly totalGpus: number;
  /** Facility cap from facilityCap / facilityCapSchedule, and from the fluctuating supply. */
  private scheduledCap = Infinity;
  private supplyCap = Infinity;
  private initialCap = Infinity;

  constructor(
    private readonly queue: EventQueue,
    private readonly clocks: StageClocks,
    private readonly s: Scenario,
    gpusPerStage: readonly number[],
    control = true,
    private readonly supplyRng?: RandomStream,
  ) {
    const power = s.cluster.power;
    this.gpu = s.cluster.gpu;
    this.pue = power.pue;
    this.nodeOverheadWatts = power.nodeOverheadWatts;
    // A rack limit is a hard per-GPU budget: every GPU of a full rack at its share stays under it.
    let gpuCap = Math.min(power.gpuPowerLimit ?? this.gpu.tdpWatts, this.gpu.tdpWatts);
    if (power.rackCap !== undefined) {
      const nodesPerRack = power.nodesPerRack;
      const share = (power.rackCap - nodesPerRack * this.nodeOverheadWatts) / (nodesPerRack * s.cluster.gpusPerNode);
      gpuCap = Math.min(gpuCap, Math.max(this.gpu.idleWatts, share));
    }
    this.gpuCap = gpuCap;
    this.scheduledCap = power.facilityCap ?? Infinity;
    for (const step of power.facilityCapSchedule ?? []) if (step.at <= 0) this.scheduledCap = step.watts;
    if (power.facilitySupply !== undefined && supplyRng !== undefined) {
      this.supplyCap = power.facilitySupply.gridWatts + power.facilitySupply.variableWatts * supplyRng.uniform();
    }
    const cap = Math.min(this.scheduledCap, this.supplyCap);
    this.facilityCap = cap === Infinity ? undefined : cap;
    this.initialCap = cap;
    const capped = power.facilityCap !== undefined || (power.facilityCapSchedule?.length ?? 0) > 0 || power.facilitySupply !== undefined;
    this.active = control && (power.gpuPowerLimit !== undefined || power.rackCap !== undefined || capped);
    this.floorWatts = (power.powerFloor ?? 0) * this.gpu.tdpWatts;
    this.totalGpus = gpusPerStage.reduce((a, n) => a + n, 0);
    this.gpuLimit = this.gpuCap;
    if (this.facilityCap !== undefined) {
      // Start from the fair share of the cap: what every GPU may draw if all draw alike.
      const share = (this.facilityCap / this.pue - s.cluster.nodes * this.nodeOverheadWatts) / this.totalGpus;
      this.gpuLimit = Math.max(this.gpu.idleWatts, Math.min(this.gpuCap, share));
    }
    this.stages = gpusPerStage.map(() => ({ cls: "idle" as PowerClass, background: 0, clock: 1, previousClock: 1, clockChangedAt: 0, watts: 0 }));
    this.stageGpus = Float64Array.from(gpusPerStage); // perf P35
    for (let i = 0; i < this.stages.length; i++) this.update(i);
    this.record();
  }

  /** The compute stream of `stage` starts running something of this class (or waits: "idle"). */
  setClass(stage: number, cls: PowerClass): void {
    const st = this.stages[stage] as StageState;
    if (st.cls === cls) return;
    this.advance();
    st.cls = cls;
    this.update(stage);
    this.record();
  }

  /** Background (data-parallel) communication starts (+1) or ends (−1) on `stage`. */
  background(stage: number, delta: number): void {
    this.advance();
    const st = this.stages[stage] as StageState;
    st.background += delta;
    this.update(stage);
    this.record();
  }

  /** Clock of `stage` during a segment ending at `t1` (segments end where clocks change). */
  clockDuring(stage: number, t1: number): number {
    const st = this.stages[stage] as StageState;
    return t1 <= st.clockChangedAt ? st.previousClock : st.clock;
  }

  /** Start the facility controller (if there is a facility cap) and the cap's changes over time. */
  start(intervalSeconds: number): void {
    const power = this.s.cluster.power;
    for (const step of power.facilityCapSchedule ?? []) {
      // A change after the step has ended (stop()) must not advance the meters past it.
      if (step.at > 0) this.queue.schedule(step.at, () => {
        if (!this.stopped) this.setCaps(step.watts, this.supplyCap);
      });
    }
    const supply = power.facilitySupply;
    const rng = this.supplyRng;
    if (supply !== undefined && rng !== undefined) {
      const change = (): void => {
        if (this.stopped) return;
        this.setCaps(this.scheduledCap, supply.gridWatts + supply.variableWatts * rng.uniform());
        this.queue.scheduleIn(rng.exponential(1 / supply.meanPeriodSeconds), change);
      };
      this.queue.scheduleIn(rng.exponential(1 / supply.meanPeriodSeconds), change);
    }
    if (this.facilityCap === undefined && supply === undefined && (power.facilityCapSchedule?.length ?? 0) === 0) return;
    const tick = (): void => {
      if (this.stopped) return;
      this.advance();
      const span = this.queue.now - this.intervalStart;
      if (span > 0 && this.facilityCap !== undefined) {
        const mean = (this.energy - this.intervalStartEnergy) / span;
        this.intervals.push({ start: this.intervalStart, end: this.queue.now, meanWatts: mean, capWatts: this.facilityCap });
        this.retarget(mean, this.intervalPeakWatts);
        // However long the step, the controller's record stays bounded: past MAX_CONTROL_INTERVALS
        // it samples half as often and its intervals merge pairwise (means weighted by time).
        if (this.intervals.length >= MAX_CONTROL_INTERVALS) {
          this.intervals = mergeIntervalPairs(this.intervals);
          intervalSeconds *= 2;
        }
      }
      this.intervalStart = this.queue.now;
      this.intervalStartEnergy = this.energy;
      this.intervalPeakWatts = 0;
      this.queue.scheduleIn(intervalSeconds, tick);
    };
    this.queue.scheduleIn(intervalSeconds, tick);
  }

  stop(): void {
    this.stopped = true;
  }

  /** The cap changes (schedule or supply): GPUs get the new fair share at once; the controller refines it. */
  private setCaps(scheduled: number, supply: number): void {
    this.advance();
    this.scheduledCap = scheduled;
    this.supplyCap = supply;
    const cap = Math.min(scheduled, supply);
    this.facilityCap = cap === Infinity ? undefined : cap;
    if (this.facilityCap !== undefined) {
      const share = (this.facilityCap / this.pue - this.s.cluster.nodes * this.nodeOverheadWatts) / this.totalGpus;
      this.gpuLimit = Math.max(this.gpu.idleWatts, Math.min(this.gpuCap, share));
    } else this.gpuLimit = this.gpuCap;
    this.capSteps.push({ at: this.queue.now, watts: cap });
    for (let i = 0; i < this.stages.length; i++) this.update(i);
    this.record();
  }

  report(endTime: number): StepPowerReport {
    this.advanceTo(endTime);
    const span = endTime > 0 ? endTime : 1;
    let peak = 0;
    for (let i = 0; i < this.series.length; i++) peak = Math.max(peak, this.series.watts[i] as number);
    const out: StepPowerReport = {
      gpuMeanWatts: this.gpuEnergy / span / this.totalGpus,
      facilityMeanWatts: this.energy / span,
      facilityPeakWatts: peak,
      energyJoules: this.energy,
      series: this.series,
      controlIntervals: this.intervals,
      capSteps: [{ at: 0, watts: this.initialCap }, ...this.capSteps],
    };
    if (this.facilityCap !== undefined) {
      out.facilityCapWatts = this.facilityCap;
      out.finalGpuLimitWatts = this.gpuLimit;
    }
    return out;
  }

  // ---- internals ----

  /**
   * Move the per-GPU budget so the facility's interval average meets the cap:
   * down at once in proportion to the excess, up by a tenth of the headroom per
   * interval (fast throttle, slow release, as power controllers do), and never
   * higher than would keep the interval's busiest moment under the cap: releasing
   * on the mean alone let a quiet interval set up the next busy one to overshoot.
   */
  private retarget(meanFacility: number, peakFacility: number): void {
    const cap = this.facilityCap as number;
    const fixed = this.pue * this.s.cluster.nodes * this.nodeOverheadWatts;
    const gpuMeasured = meanFacility - fixed;
    const gpuTarget = cap - fixed;
    if (gpuMeasured <= 0) return;
    const idle = this.gpu.idleWatts;
    let next = this.gpuLimit;
    if (meanFacility > 0.995 * cap) {
      next = idle + ((this.gpuLimit - idle) * (0.99 * gpuTarget)) / gpuMeasured;
    } else if (meanFacility < 0.97 * cap) {
      const gpuPeak = peakFacility - fixed;
      const peakBound = gpuPeak > 0 ? idle + ((this.gpuLimit - idle) * (0.99 * gpuTarget)) / gpuPeak : Infinity;
      next = Math.max(this.gpuLimit, Math.min(this.gpuLimit + 0.1 * (this.gpuCap - this.gpuLimit), peakBound));
    }
    next = Math.max(idle, Math.min(this.gpuCap, next));
    if (Math.abs(next - this.gpuLimit) < 1e-9) return;
    this.gpuLimit = next;
    for (let i = 0; i < this.stages.length; i++) this.update(i);
    this.record();
  }

  private update(stage: number): void {
    const st = this.stages[stage] as StageState;
    const share = activityShare(st.cls, st.background > 0 && st.cls !== "idle");
    const shareWithBg = st.cls === "idle" && st.background > 0 ? activityShare("comm", false) : share;
    let clock = 1;
    if (this.active) clock = clockForLimit(this.gpu, shareWithBg, this.gpuLimit);
    if (clock !== st.clock) {
      st.previousClock = st.clock;
      st.clockChangedAt = this.queue.now;
      st.clock = clock;
      this.clocks.setClock(stage, clock);
    }
    st.watts = Math.max(this.floorWatts, gpuPowerWatts(this.gpu, shareWithBg, clock));
  }

  private advance(): void {
    this.advanceTo(this.queue.now);
  }

  private advanceTo(t: number): void {
    const dt = t - this.lastTime;
    if (dt > 0) {
      this.energy += this.facilityWatts * dt;
      if (this.facilityWatts > this.intervalPeakWatts) this.intervalPeakWatts = this.facilityWatts;
      let gpuW = 0;
      for (let i = 0; i < this.stages.length; i++) gpuW += (this.stages[i] as StageState).watts * (this.stageGpus[i] as number);
      this.gpuEnergy += gpuW * dt;
      this.lastTime = t;
    }
  }

  private record(): void {
    let gpuW = 0;
    for (let i = 0; i < this.stages.length; i++) gpuW += (this.stages[i] as StageState).watts * (this.stageGpus[i] as number);
    const facility = this.pue * (gpuW + this.s.cluster.nodes * this.nodeOverheadWatts);
    this.facilityWatts = facility;
    const sr = this.series;
    const now = this.queue.now;
    if (sr.length > 0 && sr.time[sr.length - 1] === now) {
      sr.watts[sr.length - 1] = facility;
      return;
    }
    if (sr.length > 0 && sr.watts[sr.length - 1] === facility) return;
    if (sr.length === sr.time.length) {
      const t = new Float64Array(sr.length * 2);
      t.set(sr.time);
      const w = new Float64Array(sr.length * 2);
      w.set(sr.watts);
      sr.time = t;
      sr.watts = w;
    }
    sr.time[sr.length] = now;
    sr.watts[sr.length] = facility;
    sr.length++;
  }
}
