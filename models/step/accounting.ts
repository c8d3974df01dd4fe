/**
 * Where every second of every rank goes: per rank and category, the seconds it
 * spent (charged by the executor, and by the engine's segment reports through
 * `segment`), the spans it records for timelines, and the step's result.
 * SM-bound time at a throttled clock is split: the part the clock cost is power's.
 */
import type { FluidModel, Resource } from "../../sim/fluid.ts";
import type { Uncontended, UncontendedListener } from "../../sim/uncontended.ts";
import type { PowerClass } from "../power/gpu-power.ts";
import type { StepPower, StepPowerReport } from "../power/step-power.ts";
import type { MemoryBreakdown } from "../workload/memory.ts";
import { CATEGORIES, CATEGORY_INDEX, emptyBreakdown, type Breakdown, type Category } from "../categories.ts";
import { HBM, ROLES, SM } from "./program.ts";
import type { RankSet } from "./ranks.ts";
import type { StepMode } from "./symmetry.ts";
import type { Span } from "../../sim/recorder.ts";
import type { DataStepResult } from "../data/types.ts";

export const NCAT = CATEGORIES.length;
export const COMPUTE = CATEGORY_INDEX.compute;
export const POWER = CATEGORY_INDEX.power;
export const BUBBLE = CATEGORY_INDEX.bubble;

export interface StageResult {
  stage: number;
  /** When this stage's GPUs finished the step, seconds. */
  endSeconds: number;
  breakdown: Breakdown;
}

export interface StepSimulation {
  stepSeconds: number;
  /** Share of step time per category, averaged over all GPUs; sums to 1. */
  breakdown: Breakdown;
  stages: StageResult[];
  memory: MemoryBreakdown[];
  events: number;
  activities: number;
  /** How the step was simulated, and why. */
  mode: StepMode;
  modeReason: string;
  /** Mean HBM utilisation and SM busy share over the step, averaged over GPUs (for power). */
  smBusyShare: number;
  hbmBusyShare: number;
  spans: Span[];
  power: StepPowerReport;
  /** With a `data:` section: the input path and the stall it adds (models/data/stall.ts). */
  data?: DataStepResult;
}

export class StepAccounts implements UncontendedListener {
  /** Seconds per rank and category (rank · NCAT + category). */
  readonly times: Float64Array;
  readonly spans: Span[] = [];
  private readonly tracks: string[];
  /** Per rank: its stage, and 1 if it is its stage's first (the one whose power is metered and spans recorded). */
  readonly stageOf: Int32Array;
  readonly metered: Uint8Array;
  private power!: StepPower;
  private powerActive = false;

  constructor(
    ranks: RankSet,
    stages: number,
    readonly record: boolean,
    /** Category of each resource id as a bottleneck. */
    private readonly categoryOfResource: Int8Array,
  ) {
    this.times = new Float64Array(ranks.count * NCAT);
    this.tracks = Array.from({ length: stages }, (_, st) => `stage ${st}`);
    this.stageOf = Int32Array.from({ length: ranks.count }, (_, g) => Math.floor(g / ranks.perStage));
    this.metered = Uint8Array.from({ length: ranks.count }, (_, g) => (g % ranks.perStage === 0 ? 1 : 0));
  }

  /** The power model whose clocks split SM-bound time and whose meters follow each stage's class. */
  attach(power: StepPower): void {
    this.power = power;
    this.powerActive = power.active;
  }

  charge(g: number, category: number, seconds: number): void {
    this.times[g * NCAT + category] = (this.times[g * NCAT + category] as number) + seconds;
  }

  /** Records a span if `g` is its stage's recorded rank. */
  span(g: number, name: string, category: number, start: number, end: number): void {
    if (this.record && this.metered[g] === 1) this.spans.push({ track: this.tracks[this.stageOf[g] as number] as string, name, category: CATEGORIES[category] as string, start, end });
  }

  chargeSpan(g: number, name: string, category: number, start: number, end: number): void {
    this.charge(g, category, end - start);
    this.span(g, name, category, start, end);
  }

  /**
   * A stretch of `g`'s work bounded by resource `bottleneck` (-1: none; g < 0: a data-parallel
   * stream's, not charged). Written out flat: it runs at the end of most inlined call chains (perf P40).
   */
  onUncontendedSegment(g: number, label: string, t0: number, t1: number, bottleneck: number): void {
    if (g < 0) return;
    const cat = bottleneck < 0 ? COMPUTE : (this.categoryOfResource[bottleneck] as number);
    const times = this.times;
    if (cat === COMPUTE && this.powerActive) {
      const clock = this.power.clockDuring(this.stageOf[g] as number, t1);
      times[g * NCAT + COMPUTE] = (times[g * NCAT + COMPUTE] as number) + (t1 - t0) * clock;
      times[g * NCAT + POWER] = (times[g * NCAT + POWER] as number) + (t1 - t0) * (1 - clock);
      if (this.record) this.span(g, label, clock < 1 ? POWER : COMPUTE, t0, t1);
      return;
    }
    times[g * NCAT + cat] = (times[g * NCAT + cat] as number) + (t1 - t0);
    if (this.record) this.span(g, label, cat, t0, t1);
  }

  /** The stage's metered GPU runs something of this class now. */
  setClass(g: number, cls: PowerClass): void {
    if (this.metered[g] === 1) this.power.setClass(this.stageOf[g] as number, cls);
  }

  background(g: number, delta: number): void {
    if (this.metered[g] === 1) this.power.background(this.stageOf[g] as number, delta);
  }
}

export interface StepEnd {
  endTimes: Float64Array;
  /** Per rank: SM and HBM work done, and capacities at the end. */
  smWork: Float64Array;
  smCapacity: Float64Array;
  hbmWork: Float64Array;
  hbmCapacity: Float64Array;
  memory: MemoryBreakdown[];
  events: number;
  activities: number;
  mode: StepMode;
  modeReason: string;
}

/** Per rank: SM and HBM work done (in the fluid model and outside it) and their capacities at the end. */
export function settledWork(fluid: FluidModel, res: readonly Resource[], u: Uncontended, ranks: number): Pick<StepEnd, "smWork" | "smCapacity" | "hbmWork" | "hbmCapacity"> {
  const e = { smWork: new Float64Array(ranks), smCapacity: new Float64Array(ranks), hbmWork: new Float64Array(ranks), hbmCapacity: new Float64Array(ranks) };
  for (let g = 0; g < ranks; g++) {
    const sm = res[g * ROLES + SM] as Resource;
    const hbm = res[g * ROLES + HBM] as Resource;
    fluid.settleResource(sm);
    fluid.settleResource(hbm);
    e.smWork[g] = sm.workDone + (u.workDone[sm.id] as number);
    e.smCapacity[g] = sm.capacity;
    e.hbmWork[g] = hbm.workDone + (u.workDone[hbm.id] as number);
    e.hbmCapacity[g] = hbm.capacity;
  }
  return e;
}

/** The result: idle after its end is each rank's bubble, then shares per stage and over all GPUs. */
export function stepResult(acc: StepAccounts, ranks: RankSet, stages: number, power: StepPower, e: StepEnd): StepSimulation {
  const N = ranks.count;
  const R = ranks.perStage;
  let stepSeconds = 0;
  for (let g = 0; g < N; g++) stepSeconds = Math.max(stepSeconds, e.endTimes[g] as number);
  const stageResults: StageResult[] = [];
  const total = new Float64Array(NCAT);
  for (let st = 0; st < stages; st++) {
    const sum = new Float64Array(NCAT);
    let end = 0;
    for (let g = st * R; g < (st + 1) * R; g++) {
      acc.charge(g, BUBBLE, stepSeconds - (e.endTimes[g] as number));
      end = Math.max(end, e.endTimes[g] as number);
      for (let c = 0; c < NCAT; c++) sum[c] = (sum[c] as number) + (acc.times[g * NCAT + c] as number);
    }
    // Every second of every rank is attributed, so these sum to 1 by construction
    // (a test holds us to that); no renormalisation hides a gap.
    const b = emptyBreakdown();
    for (let c = 0; c < NCAT; c++) {
      b[CATEGORIES[c] as Category] = (sum[c] as number) / R / stepSeconds;
      // Folded: the mean of the stages' shares; full: GPU-seconds over all GPUs (the same mean, summed as each did).
      total[c] = (total[c] as number) + (ranks.kind === "folded" ? b[CATEGORIES[c] as Category] / stages : (sum[c] as number));
    }
    stageResults.push({ stage: st, endSeconds: end, breakdown: b });
  }
  const breakdown = emptyBreakdown();
  for (let c = 0; c < NCAT; c++) breakdown[CATEGORIES[c] as Category] = ranks.kind === "folded" ? (total[c] as number) : (total[c] as number) / N / stepSeconds;
  let smBusy = 0;
  let hbmBusy = 0;
  for (let g = 0; g < N; g++) {
    smBusy += (e.smWork[g] as number) / (e.smCapacity[g] as number) / stepSeconds / N;
    hbmBusy += (e.hbmWork[g] as number) / (e.hbmCapacity[g] as number) / stepSeconds / N;
  }
  return {
    stepSeconds,
    breakdown,
    stages: stageResults,
    memory: e.memory,
    power: power.report(stepSeconds),
    events: e.events,
    activities: e.activities,
    mode: e.mode,
    modeReason: e.modeReason,
    smBusyShare: smBusy,
    hbmBusyShare: hbmBusy,
    spans: acc.spans,
  };
}
