/**
 * The bundled experiments tell a story in their header comments; these tests hold the
 * simulator to it, point by point, so a model change that breaks the story is caught.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { evaluatePoint } from "../../experiments/evaluate.ts";
import { expandPoints, loadExperiment, pointScenario } from "../../experiments/experiment.ts";
import type { RunResult } from "../../models/run.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Results of the named experiment's points, keyed by their parameter values joined with " | ". */
function results(file: string, only?: (params: Record<string, unknown>) => boolean): Map<string, RunResult> {
  const exp = loadExperiment(join(ROOT, file));
  const out = new Map<string, RunResult>();
  for (const p of expandPoints(exp)) {
    if (only !== undefined && !only(p.params)) continue;
    const r = evaluatePoint({ ...p, experiment: exp.name, scenario: pointScenario(exp, p), loadOptions: exp.loadOptions });
    if (r.status !== "ok") throw new Error(`${file} point ${p.index}: ${r.status} ${r.error ?? ""}`);
    out.set(Object.values(p.params).map(String).join(" | "), r.result as RunResult);
  }
  return out;
}
const get = (m: Map<string, RunResult>, key: string): RunResult => {
  const r = m.get(key);
  if (r === undefined) throw new Error(`no point ${key}; have ${[...m.keys()].join(", ")}`);
  return r;
};

const BUNDLED = ["experiments/default.yaml", ...readdirSync(join(ROOT, "experiments/sweeps")).filter((f) => f.endsWith(".yaml")).map((f) => `experiments/sweeps/${f}`)];

describe("every bundled experiment", () => {
  it.each(BUNDLED)("%s loads, and its first point runs", (file) => {
    const exp = loadExperiment(join(ROOT, file));
    const first = expandPoints(exp)[0]!;
    const r = evaluatePoint({ ...first, experiment: exp.name, scenario: pointScenario(exp, first), loadOptions: exp.loadOptions });
    expect(r.status, r.error).toBe("ok");
  }, 60_000);
});

describe("bundled sweeps", () => {
  it("power-swing-mitigation: a power floor and storage each shrink the largest 100 ms drop of the baseline", () => {
    const exp = loadExperiment(join(ROOT, "experiments/sweeps/power-swing-mitigation.yaml"));
    const drops = expandPoints(exp).map((p) => {
      const r = evaluatePoint({ ...p, experiment: exp.name, scenario: pointScenario(exp, p), loadOptions: exp.loadOptions, keepPowerSeries: true });
      const power = (r.result as RunResult).power;
      expect(power.series.length).toBeGreaterThan(100);
      const swings = power.storage?.swings ?? power.swings;
      return swings.find((s) => s.windowSeconds === 0.1)!.dropWatts;
    });
    const [baseline, floor50, floor80, storage] = drops as [number, number, number, number];
    expect(floor50).toBeLessThan(baseline);
    expect(floor80).toBeLessThan(floor50);
    expect(storage).toBeLessThan(0.5 * baseline);
  }, 60_000);

  it("accelerator-generations: each generation is faster; on B200 compute shrinks more than the fabric", () => {
    const m = results("experiments/sweeps/accelerator-generations.yaml");
    const a100 = get(m, "A100-80GB | 200 Gb/s | 400 W");
    const h100 = get(m, "H100-SXM | 400 Gb/s | 700 W");
    const b200 = get(m, "B200 | 400 Gb/s | 1000 W");
    expect(h100.stepSeconds).toBeLessThan(a100.stepSeconds / 2);
    expect(b200.stepSeconds).toBeLessThan(h100.stepSeconds * 0.6);
    expect(b200.breakdown.network).toBeGreaterThan(h100.breakdown.network * 1.5);
    for (const r of m.values()) expect(r.breakdown.power).toBeLessThan(0.01); // each GPU at its own TDP
  }, 60_000);

  it("fabric-oversubscription: the classic fat-tree slows at 8:1, rail-optimized holds at 4:1", () => {
    const m = results("experiments/sweeps/fabric-oversubscription.yaml", (p) => [1, 4, 8].includes(p["cluster.network.oversubscription"] as number));
    const rail1 = get(m, "rail-optimized | 1").stepSeconds;
    expect(get(m, "rail-optimized | 4").stepSeconds).toBeCloseTo(rail1, 6);
    const tree1 = get(m, "fat-tree | 1");
    const tree8 = get(m, "fat-tree | 8");
    expect(tree8.stepSeconds).toBeGreaterThan(tree1.stepSeconds * 1.2);
    expect(tree8.breakdown.network).toBeGreaterThan(3 * tree1.breakdown.network);
  }, 60_000);

  it("straggler: one slow GPU runs in full; the step grows once the bubble's slack is used up, and the others' wait is bubble", () => {
    const m = [...results("experiments/sweeps/straggler.yaml").values()];
    expect(m.map((r) => r.simulation.mode)).toEqual(["full", "full", "full", "full", "full", "full"]);
    for (let i = 1; i < m.length; i++) expect(m[i]!.stepSeconds).toBeGreaterThanOrEqual(m[i - 1]!.stepSeconds);
    const [healthy, , , , , half] = m as [RunResult, RunResult, RunResult, RunResult, RunResult, RunResult];
    expect(half.stepSeconds).toBeGreaterThan(1.3 * healthy.stepSeconds);
    expect(half.breakdown.bubble).toBeGreaterThan(2 * healthy.breakdown.bubble);
    // Seconds per GPU: the healthy GPUs' extra time is waiting on the slow one (bubble). The
    // fabric gains only the few gradient transfers the delay pushed past the end of compute.
    const extra = (c: "bubble" | "network"): number => half.breakdown[c] * half.stepSeconds - healthy.breakdown[c] * healthy.stepSeconds;
    expect(extra("bubble")).toBeGreaterThan(0.8 * (half.stepSeconds - healthy.stepSeconds));
    expect(extra("network")).toBeLessThan(0.02 * extra("bubble"));
  }, 60_000);

  it("scale-up-vs-scale-out: slow NVLink makes nvlink the top share; slow NICs make network grow", () => {
    const m = results("experiments/sweeps/scale-up-vs-scale-out.yaml", (p) => ["150 GB/s", "900 GB/s"].includes(p["cluster.gpu.scaleUpBandwidth"] as string) && ["100 Gb/s", "800 Gb/s"].includes(p["cluster.network.nicBandwidth"] as string));
    const slowNv = get(m, "150 GB/s | 800 Gb/s").breakdown;
    expect(slowNv.nvlink).toBeGreaterThan(slowNv.compute);
    const fastNvSlowNic = get(m, "900 GB/s | 100 Gb/s");
    const fastBoth = get(m, "900 GB/s | 800 Gb/s");
    expect(fastNvSlowNic.breakdown.network).toBeGreaterThan(3 * fastBoth.breakdown.network);
    expect(fastBoth.breakdown.compute).toBeGreaterThan(0.6);
    expect(fastBoth.stepSeconds).toBeLessThan(get(m, "150 GB/s | 800 Gb/s").stepSeconds);
  }, 60_000);

  it("scale-out-16k: weak scaling bends but stays within 10 % from 32 to 16,384 GPUs, network growing", () => {
    const m = [...results("experiments/sweeps/scale-out-16k.yaml").values()];
    expect(m.map((r) => r.gpus)).toEqual([32, 128, 512, 2048, 8192, 16384]);
    for (let i = 1; i < m.length; i++) {
      expect(m[i]!.stepSeconds).toBeGreaterThanOrEqual(m[i - 1]!.stepSeconds);
      expect(m[i]!.breakdown.network).toBeGreaterThanOrEqual(m[i - 1]!.breakdown.network);
    }
    expect(m[m.length - 1]!.stepSeconds).toBeLessThan(1.1 * m[0]!.stepSeconds);
    // 8 micro-batches through 4 stages: the 1F1B bubble is (p-1)/(m+p-1) = 3/11 of the step
    expect(m[0]!.breakdown.bubble).toBeCloseTo(3 / 11, 1);
  }, 60_000);
});
