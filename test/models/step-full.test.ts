import { describe, expect, it } from "vitest";
import { loadScenario } from "../../experiments/load.ts";
import { publishedCaseFiles } from "../../experiments/validate.ts";
import { kernelCost, type Kernel } from "../../models/compute/kernel.ts";
import { rankLayout } from "../../models/parallel/layout.ts";
import { layersPerVirtualStage } from "../../models/parallel/stages.ts";
import type { Scenario } from "../../models/scenario.ts";
import { CATEGORIES } from "../../models/categories.ts";
import { simulateStep } from "../../models/step/simulate.ts";
import { simulateStepFull } from "../../models/step/simulate-full.ts";
import { embeddingKernels, headKernels, layerBackwardKernels, layerForwardKernels } from "../../models/workload/layer-kernels.ts";
import { layerShape, memoryByStage } from "../../models/workload/memory.ts";
import { scenario, IDEAL_ACCELERATOR, TINY_MODEL } from "../helpers/scenario.ts";

const symmetric = (s: Scenario): Scenario => ({ ...s, cluster: { ...s.cluster, gpuVariability: 0 } });
const gpus = (s: Scenario): number => s.parallelism.tp * s.parallelism.cp * s.parallelism.dp * s.parallelism.pp;

describe("full mode agrees with folded on symmetric scenarios", () => {
  // Every bundled scenario and published case, with identical GPUs, the largest
  // included (Llama 3 405B on 16,384 H100, GPT 1T on 3,072 A100): about a minute in all.
  const files = [
    "experiments/scenarios/gpt3-175b-1024.yaml",
    "experiments/scenarios/hbm-shift-base.yaml",
    "experiments/scenarios/llama3-405b-16k.yaml",
    "experiments/scenarios/llama3-8b-64.yaml",
    ...publishedCaseFiles(),
  ];
  const ran: string[] = [];
  const straddled: string[] = [];
  const straddles = (s: Scenario): boolean => {
    const layout = rankLayout(s.parallelism, s.cluster);
    return Array.from({ length: s.parallelism.pp }, (_, st) => layout.stageNode(st)).some((n) => n < 0);
  };
  for (const file of files) {
    it(file, () => {
      const s = symmetric(loadScenario(file));
      const folded = simulateStep(s);
      ran.push(file);
      const full = simulateStepFull(s);
      expect(Math.abs(full.stepSeconds / folded.stepSeconds - 1), file).toBeLessThan(0.01);
      if (straddles(s)) {
        // A stage across a domain boundary (Model Zoo GB200 bf16: stages of 32 GPUs on racks of 72, stage 2 =
        // ranks 64-95): folded sends its boundaries' pairs all over the NICs (the stage waits for its slowest
        // pair), full mode only the pairs that cross. Measured: step 2.4e-4 apart, shares 0.01.
        straddled.push(s.name);
        expect(Math.abs(full.stepSeconds / folded.stepSeconds - 1), file).toBeLessThan(0.002);
        for (const c of CATEGORIES) expect(Math.abs(full.breakdown[c] - folded.breakdown[c]), `${file} ${c}`).toBeLessThan(0.02);
        expect(full.memory).toEqual(folded.memory);
        return;
      }
      // They run the same plans on the same fluid model: in practice equal to the last bit or two.
      expect(full.stepSeconds).toBeCloseTo(folded.stepSeconds, 9);
      for (const c of CATEGORIES) expect(full.breakdown[c], `${file} ${c}`).toBeCloseTo(folded.breakdown[c], 9);
      // Tied embeddings: in full mode the last stage's all-reduce with the first waits for
      // it (folded runs each side alone), so only that stage may end later, never the step.
      const tied = s.workload.model.tiedEmbeddings && s.parallelism.pp > 1;
      for (let st = 0; st < full.stages.length; st++) {
        if (tied && st === s.parallelism.pp - 1) expect(full.stages[st]!.endSeconds).toBeLessThanOrEqual(full.stepSeconds);
        else expect(full.stages[st]!.endSeconds, `${file} stage ${st}`).toBeCloseTo(folded.stages[st]!.endSeconds, 9);
      }
      expect(full.memory).toEqual(folded.memory);
    }, 120_000);
  }
  it("covered every one of them", () => {
    expect(ran).toEqual(files);
    expect(files.length).toBeGreaterThanOrEqual(20);
    // Only this one straddles: the other GB200 rows state segments that tile the racks (cluster.placement).
    expect(straddled).toEqual(["modelzoo-qwen3-235b-gb200-bf16"]);
  });
});

const IDEAL = IDEAL_ACCELERATOR;
const TINY = TINY_MODEL;

describe("a straggler, by hand", () => {
  // 2 pipeline stages × 2 data-parallel replicas on one node, one micro-batch per
  // replica, no ZeRO: each replica runs F(stage 0), F(1), B(1), B(0); then gradients
  // are reduced between the replicas of each stage and each GPU runs its optimizer.
  const s = scenario({ gpu: IDEAL, nodes: 1, gpusPerNode: 4, model: TINY, seqLength: 2048, globalBatch: 2, plan: { pp: 2, dp: 2, zero: 0 } });
  const peak = 1e15;
  const shape = layerShape(s);
  const split = layersPerVirtualStage(TINY.layers, s.parallelism) as number[];
  const sm = (kernels: Kernel[], times = 1): number => times * kernels.reduce((a, k) => a + kernelCost(k, IDEAL, "bf16").smWork, 0);
  const F0 = (sm(embeddingKernels(shape, "forward").kernels) + sm(layerForwardKernels(shape).kernels, split[0])) / peak;
  const F1 = (sm(layerForwardKernels(shape).kernels, split[1]) + sm(headKernels(shape, "forward").kernels)) / peak;
  const B1 = (sm(headKernels(shape, "backward").kernels) + sm(layerBackwardKernels(shape).kernels, split[1])) / peak;
  const B0 = (sm(layerBackwardKernels(shape).kernels, split[0]) + sm(embeddingKernels(shape, "backward").kernels)) / peak;
  // Mixed-precision Adam: 12 FLOP per parameter of the (unsharded) stage.
  const [O0, O1] = memoryByStage(s).map((m) => (12 * m.params) / peak) as [number, number];

  it("identical GPUs: one replica's pipeline, then the slower stage's optimizer", () => {
    const r = simulateStepFull(s, { gpuSpeeds: new Float64Array([1, 1, 1, 1]) });
    const expected = Math.max(F0 + F1 + B1 + O1, F0 + F1 + B1 + B0 + O0);
    expect(r.stepSeconds / expected - 1).toBeCloseTo(0, 6);
  });

  it("one GPU at half speed (stage 1 of replica 1, rank 3) holds back both replicas through the gradient reduction", () => {
    const v = 0.5;
    const r = simulateStepFull(s, { gpuSpeeds: new Float64Array([1, 1, 1, v]) });
    // Replica 1: its stage 1 takes (F1 + B1)/v, stage 0 then runs B0. Replica 0 waits for
    // replica 1's gradients before its optimizer, so both end together.
    const slowStage1 = F0 + (F1 + B1) / v + O1 / v;
    const stage0 = F0 + (F1 + B1) / v + B0 + O0;
    expect(r.stepSeconds / Math.max(slowStage1, stage0) - 1).toBeCloseTo(0, 6);
    expect(r.stages[1]!.endSeconds / slowStage1 - 1).toBeCloseTo(0, 6);
    expect(r.stages[0]!.endSeconds / stage0 - 1).toBeCloseTo(0, 6);
    // The other GPUs idle while the slow one computes: more bubble seconds.
    const uniform = simulateStepFull(s, { gpuSpeeds: new Float64Array([1, 1, 1, 1]) });
    expect(r.breakdown.bubble * r.stepSeconds).toBeGreaterThan(uniform.breakdown.bubble * uniform.stepSeconds);
    const sum = CATEGORIES.reduce((a, c) => a + r.breakdown[c], 0);
    expect(sum).toBeCloseTo(1, 9);
  });

  it("cluster.stragglers: the step runs in full by itself, as with those speeds given directly", () => {
    const named: Scenario = { ...s, cluster: { ...s.cluster, gpuVariability: 0, stragglers: [{ gpu: 3, speed: 0.5 }] } };
    const auto = simulateStep(named);
    expect(auto.mode).toBe("full");
    expect(auto.modeReason).toMatch(/cluster\.stragglers.*GPU 3 at 50 %/);
    expect(auto.stepSeconds).toBe(simulateStepFull(s, { gpuSpeeds: new Float64Array([1, 1, 1, 0.5]) }).stepSeconds);
    // Forced folding runs all of stage 1 at its slowest GPU's pace: here the same step
    // (the slow replica gates both through the gradient reduction), and at least as long.
    const folded = simulateStep(named, { mode: "folded" });
    expect(folded.mode).toBe("folded");
    expect(folded.modeReason).toMatch(/approximate/);
    expect(folded.stepSeconds).toBeGreaterThanOrEqual(auto.stepSeconds * (1 - 1e-12));
    expect(folded.stepSeconds / (F0 + (F1 + B1) / 0.5 + B0 + O0) - 1).toBeCloseTo(0, 6);
    // Without stragglers the same scenario folds.
    expect(simulateStep(symmetric(s)).mode).toBe("folded");
  });

  it("rejects speeds of the wrong length", () => {
    expect(() => simulateStepFull(s, { gpuSpeeds: new Float64Array(3) })).toThrow(/4 GPUs/);
  });
});

describe("GPU speeds drawn per GPU from the seed", () => {
  // 8 nodes: tp 8 × pp 2 × dp 4 = 64 GPUs.
  const base = scenario({ nodes: 8, model: "llama3-8b", seqLength: 4096, globalBatch: 64, plan: { tp: 8, pp: 2, zero: 1 } });
  const withSeed = (seed: number): Scenario => ({ ...base, seed });

  it("is deterministic: the same seed gives identical results; another seed, another step time", () => {
    const a = simulateStepFull(withSeed(7));
    const b = simulateStepFull(withSeed(7));
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    expect(simulateStepFull(withSeed(8)).stepSeconds).not.toBe(a.stepSeconds);
  });

  it("stragglers only slow a step, and folding (each stage at its slowest GPU) bounds them from above", () => {
    const identical = simulateStep(symmetric(base)).stepSeconds;
    let sum = 0;
    const seeds = [1, 2, 3, 4, 5];
    for (const seed of seeds) {
      const full = simulateStepFull(withSeed(seed)).stepSeconds;
      sum += full;
      // The folded step draws the same speeds in the same order and runs each stage at
      // the slowest of them; a full step lets the others keep their own pace.
      expect(full).toBeLessThanOrEqual(simulateStep(withSeed(seed)).stepSeconds * (1 + 1e-12));
    }
    expect(sum / seeds.length).toBeGreaterThanOrEqual(identical);
    expect(sum / seeds.length / identical).toBeLessThan(1.05);
  });

  it("waiting for a slow replica's gradients counts as imbalance (bubble), not as fabric time", () => {
    const even = symmetric(base);
    const slow: Scenario = { ...even, cluster: { ...even.cluster, stragglers: [{ gpu: 9, speed: 0.5 }] } };
    const a = simulateStep(even, { mode: "full" });
    const b = simulateStep(slow);
    expect(b.mode).toBe("full");
    const seconds = (r: typeof a, c: (typeof CATEGORIES)[number]): number => r.breakdown[c] * r.stepSeconds * gpus(base);
    const links = (r: typeof a): number => seconds(r, "network") + seconds(r, "nvlink");
    expect(b.stepSeconds).toBeGreaterThan(a.stepSeconds * 1.2);
    // The fabric moves the same bytes at the same speed: its seconds barely change...
    expect(links(b) / links(a)).toBeLessThan(1.05);
    // ...while the 63 healthy GPUs spend most of the longer step waiting.
    expect(seconds(b, "bubble") - seconds(a, "bubble")).toBeGreaterThan(0.5 * (gpus(base) - 1) * (b.stepSeconds - a.stepSeconds));
  });

  it("runScenario and the CLI option reach full mode", () => {
    const s = withSeed(3);
    expect(simulateStep(s, { mode: "full" }).stepSeconds).toBe(simulateStepFull(s).stepSeconds);
  });

  it("records spans of one GPU per stage only", () => {
    const r = simulateStepFull(withSeed(1), { record: true });
    expect(new Set(r.spans.map((sp) => sp.track))).toEqual(new Set(["stage 0", "stage 1"]));
    expect(r.spans.length).toBeGreaterThan(0);
  });
});
