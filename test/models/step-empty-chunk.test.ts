import { describe, expect, it } from "vitest";
import { kernelCost, type Kernel } from "../../models/compute/kernel.ts";
import { layersPerVirtualStage } from "../../models/parallel/stages.ts";
import { compileStep, WORK } from "../../models/step/program.ts";
import { simulateStep } from "../../models/step/simulate.ts";
import { simulateStepFull } from "../../models/step/simulate-full.ts";
import { embeddingKernels, headKernels, layerBackwardKernels, layerForwardKernels } from "../../models/workload/layer-kernels.ts";
import { layerShape, memoryByStage } from "../../models/workload/memory.ts";
import { IDEAL_ACCELERATOR as IDEAL, TINY_MODEL as TINY, scenario } from "../helpers/scenario.ts";

describe("a chunk with no layers (firstStageLayers / lastStageLayers 0, Megatron-Bridge style)", () => {
  // 4 stages, one replica, one micro-batch: stage 0 holds only the embedding, stage 3 only
  // the output layer and loss, stages 1-2 four layers each. The micro-batch runs F0..F3, then
  // B3..B0; each stage then runs its optimizer, so stage k ends at (F0+…+F3+B3+…+Bk) + Ok.
  const s = scenario({ gpu: IDEAL, nodes: 1, gpusPerNode: 4, model: TINY, seqLength: 2048, globalBatch: 1, gpuVariability: 0, plan: { pp: 4, dp: 1, zero: 0, firstStageLayers: 0, lastStageLayers: 0 } });
  const peak = 1e15;
  const shape = layerShape(s);
  const sm = (kernels: Kernel[], times = 1): number => times * kernels.reduce((a, k) => a + kernelCost(k, IDEAL, "bf16").smWork, 0);
  const F = [sm(embeddingKernels(shape, "forward").kernels), sm(layerForwardKernels(shape).kernels, 4), sm(layerForwardKernels(shape).kernels, 4), sm(headKernels(shape, "forward").kernels)].map((w) => w / peak);
  const B = [sm(embeddingKernels(shape, "backward").kernels), sm(layerBackwardKernels(shape).kernels, 4), sm(layerBackwardKernels(shape).kernels, 4), sm(headKernels(shape, "backward").kernels)].map((w) => w / peak);
  const O = memoryByStage(s).map((m) => (12 * m.params) / peak);

  it("splits 0/4/4/0 and emits no zero-work op", () => {
    expect(layersPerVirtualStage(TINY.layers, s.parallelism)).toEqual([0, 4, 4, 0]);
    const prog = compileStep(s);
    for (const plan of prog.plans) for (const op of plan) if (op.kind === WORK) expect(Math.max(...op.amounts), op.label).toBeGreaterThan(0);
    // The empty ends still run what they own: the embedding on stage 0, the head and loss on stage 3.
    expect(prog.plans[prog.forwardPlan[0] as number]!.some((op) => op.label.startsWith("embedding"))).toBe(true);
    expect(prog.plans[prog.forwardPlan[3] as number]!.some((op) => op.label.startsWith("head"))).toBe(true);
    expect(prog.plans[prog.lastBackwardPlan[3] as number]!.some((op) => op.label.startsWith("head.bwd"))).toBe(true);
    expect(prog.plans[prog.forwardPlan[3] as number]!.some((op) => op.label.startsWith("forward"))).toBe(false);
  });

  it("runs, folded and full, in the hand-computed time", () => {
    const forward = F.reduce((a, b) => a + b, 0);
    let expected = 0;
    for (let k = 0; k < 4; k++) expected = Math.max(expected, forward + B.slice(k).reduce((a, b) => a + b, 0) + (O[k] as number));
    const folded = simulateStep(s);
    expect(folded.stepSeconds / expected - 1).toBeCloseTo(0, 6);
    expect(simulateStepFull(s).stepSeconds / expected - 1).toBeCloseTo(0, 6);
    // The head's stage does the head's work and no layer's: its busy time is its F and B.
    expect(F[3]! + B[3]!).toBeGreaterThan(0);
  });
});
