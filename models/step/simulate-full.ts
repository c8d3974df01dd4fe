/** Every GPU of the job simulated (`--full`): simulateStep in full mode, under its historical name. */
import type { StepSimulation } from "./accounting.ts";
import { simulateStep, type SimulateOptions } from "./simulate.ts";

export type FullSimulateOptions = Omit<SimulateOptions, "mode">;

export function simulateStepFull(s: Parameters<typeof simulateStep>[0], options: FullSimulateOptions = {}): StepSimulation {
  return { ...simulateStep(s, { ...options, mode: "full" }), modeReason: "every GPU simulated" };
}
