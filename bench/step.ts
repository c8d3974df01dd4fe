/** Whole-step simulations of bundled scenarios: wall time and engine events per second. */
import { loadScenario } from "../experiments/load.ts";
import { simulateStep } from "../models/step/simulate.ts";
import { measure, type BenchResult } from "./harness.ts";

export function stepBench(label: string, file: string): BenchResult {
  const s = loadScenario(file);
  return measure(label, () => {
    const t0 = process.hrtime.bigint();
    const r = simulateStep(s);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    return { seconds, count: r.events, unit: "events" };
  });
}
