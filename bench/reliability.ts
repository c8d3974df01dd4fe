/** The 54-day, 16,384-GPU Llama 3 405B run: the step simulation plus 54 days of failures and checkpoints. */
import { loadScenario } from "../experiments/load.ts";
import { runScenario } from "../models/run.ts";
import { measure, type BenchResult } from "./harness.ts";

export function llama54Days(): BenchResult {
  const s = loadScenario("experiments/published/llama3/405b-54d.yaml");
  return measure("long run: Llama 3 405B, 16,384 H100, 54 days", () => {
    const t0 = process.hrtime.bigint();
    const { result } = runScenario(s);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    return { seconds, count: result.longRun?.checkpoint.count ?? 0, unit: "checkpoints" };
  });
}
