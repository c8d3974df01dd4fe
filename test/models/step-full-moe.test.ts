import { describe, expect, it } from "vitest";
import { CATEGORIES } from "../../models/categories.ts";
import type { ParallelPlan } from "../../models/scenario.ts";
import { simulateStep } from "../../models/step/simulate.ts";
import { simulateStepFull } from "../../models/step/simulate-full.ts";
import { denseModel, scenario } from "../helpers/scenario.ts";

// Megatron-Core lays expert groups over each stage's tp·cp·dp ranks (expert TP fastest, then EP), so an
// EP group may span tp or cp ranks. Full mode once placed EP members cp·tp apart, which with dp < ep
// left the stage (or the job): every GPU waited for a collective that never formed (the Model Zoo's
// Qwen3 128k rows: cp 8 × tp 4 × ep 8 × pp 8, expertTp 1, dp 1). The smallest: 2 GPUs, tp 2 × ep 2, expertTp 1.
const MOE = denseModel({ name: "tiny-moe", layers: 4, hidden: 1024, heads: 8, kvHeads: 8, ffn: 4096, vocab: 8, experts: 8, topK: 2, expertFfn: 1024 });

function agree(plan: Partial<ParallelPlan>, gpus: number): void {
  const base = scenario({ nodes: Math.max(1, gpus / 8), gpusPerNode: Math.min(8, gpus), model: MOE, seqLength: 4096, globalBatch: 4, gpuVariability: 0, plan: { zero: 1, ...plan } });
  // test/helpers/scenario.ts does not pass expertTp through: set it here.
  const s = plan.expertTp === undefined ? base : { ...base, parallelism: { ...base.parallelism, expertTp: plan.expertTp } };
  const folded = simulateStep(s);
  const full = simulateStepFull(s);
  // The tolerances of step-full.test.ts's symmetric cases.
  expect(Math.abs(full.stepSeconds / folded.stepSeconds - 1)).toBeLessThan(0.01);
  expect(full.stepSeconds).toBeCloseTo(folded.stepSeconds, 9);
  for (const c of CATEGORIES) expect(full.breakdown[c], c).toBeCloseTo(folded.breakdown[c], 9);
  for (let st = 0; st < full.stages.length; st++) expect(full.stages[st]!.endSeconds, `stage ${st}`).toBeCloseTo(folded.stages[st]!.endSeconds, 9);
}

describe("full mode agrees with folded on MoE expert groups that span tp and cp ranks", () => {
  it("cp 2 × ep 2 × pp 2, dp 1: the EP group is the cp pair (4 GPUs; deadlocked before)", () => {
    agree({ cp: 2, ep: 2, pp: 2, dp: 1 }, 4);
  });

  it("tp 2 × cp 2 × ep 4 × pp 2 (2 chunks), expertTp 1, dp 1: the 128k rows' shape (8 GPUs)", () => {
    agree({ tp: 2, cp: 2, ep: 4, pp: 2, dp: 1, expertTp: 1, virtualStages: 2 }, 8);
  });

  it("tp 2 × cp 2 × ep 4 × pp 2, dp 2: EP (expertTp = tp) across cp and dp, two nodes (16 GPUs)", () => {
    agree({ tp: 2, cp: 2, ep: 4, pp: 2, dp: 2 }, 16);
  });

  it("tp 2 × ep 2, expertTp 1, dp 1: the EP group is the tp pair (2 GPUs; deadlocked before)", () => {
    agree({ tp: 2, ep: 2, dp: 1, expertTp: 1 }, 2);
  });

  it("tp 4 × ep 2, expertTp 2: expert-TP groups of 2 inside tp groups of 4 (8 GPUs)", () => {
    agree({ tp: 4, ep: 2, dp: 2, expertTp: 2 }, 8);
  });
});

describe("full mode: pipeline sends within an NVL72 rack stay on NVLink", () => {
  // GB200 trays hold 4 GPUs, but a rack's 18 trays share one NVLink domain (scaleUpSpan 72): full mode once
  // took the tray for the domain and sent every stage boundary over the NICs (the Model Zoo's GB200
  // ep8-pp8 row ran 1.12x slower in full mode than folded; now equal).
  it("pp 4 over 4 trays of one rack: full equals folded", () => {
    const s = scenario({ gpu: "GB200", nodes: 4, gpusPerNode: 4, model: MOE, seqLength: 4096, globalBatch: 8, gpuVariability: 0, plan: { pp: 4, ep: 4, zero: 1 } });
    const folded = simulateStep(s);
    const full = simulateStepFull(s);
    expect(full.stepSeconds).toBeCloseTo(folded.stepSeconds, 9);
    for (const c of CATEGORIES) expect(full.breakdown[c], c).toBeCloseTo(folded.breakdown[c], 9);
  });
});
