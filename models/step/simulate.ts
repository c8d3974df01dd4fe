/**
 * One optimizer step of a training job, run on the event engine: the scenario
 * compiled once into a StepProgram (program.ts), the GPUs that run it as a
 * RankSet (ranks.ts: folded, one per pipeline stage, or full, every GPU), and
 * one executor (executor.ts) that runs any rank set.
 */
import { Simulation } from "../../sim/simulation.ts";
import type { GroupSlowdowns } from "../network/group-slowdown.ts";
import type { Scenario } from "../scenario.ts";
import type { StepSimulation } from "./accounting.ts";
import { StepExecutor } from "./executor.ts";
import { compileStep } from "./program.ts";
import { foldedRanks, fullRanks } from "./ranks.ts";
import { withDataStall } from "../data/stall.ts";
import { chooseStepMode, type StepModeRequest } from "./symmetry.ts";

export type { StageResult, StepSimulation } from "./accounting.ts";

export interface SimulateOptions {
  /** Keep per-activity spans for timelines and traces. */
  record?: boolean;
  /** Topology slowdowns per group kind (default: measured on the scenario's topology). */
  slowdown?: GroupSlowdowns;
  /** Let power caps act on clocks (default true); false keeps every clock at 1 and only meters power. */
  powerControl?: boolean;
  /** Folded (one GPU per pipeline stage), full (every GPU: slower, exact stragglers), or auto (default): folded unless the scenario's ranks differ. */
  mode?: StepModeRequest;
  /**
   * Full mode: speed factor of every GPU (sustained SM throughput relative to the catalog),
   * by global rank in Megatron order (tensor fastest, then context, data, pipeline).
   * Default: drawn from the scenario's seed and gpuVariability.
   */
  gpuSpeeds?: Float64Array;
}

export function simulateStep(s: Scenario, options: SimulateOptions = {}): StepSimulation {
  const choice = chooseStepMode(s, options.mode);
  const prog = compileStep(s, options.slowdown);
  const record = options.record ?? false;
  const sim = new Simulation({ seed: s.seed, record });
  const rng = sim.rng("gpu-variability");
  const ranks = choice.mode === "full" ? fullRanks(s, prog, rng, options.gpuSpeeds) : foldedRanks(s, prog, rng);
  const step = new StepExecutor().run(s, prog, ranks, sim, { record, powerControl: options.powerControl ?? true, mode: choice.mode, modeReason: choice.reason });
  return s.data === undefined ? step : withDataStall(s, s.data, step);
}
