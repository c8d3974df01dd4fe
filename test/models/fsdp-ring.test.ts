/**
 * The data-parallel stream's ring grows when more lists wait than the program planned for
 * (with reshardAfterForward false a backward enqueues every unit's reduce-scatter without
 * waiting for any): growing must change nothing.
 */
import { describe, expect, it, vi } from "vitest";
import { simulateStep } from "../../models/step/simulate.ts";
import { simulateStepFull } from "../../models/step/simulate-full.ts";
import { IDEAL_ACCELERATOR as IDEAL, scenario, TINY_MODEL as TINY } from "../helpers/scenario.ts";

const room = vi.hoisted(() => ({ capacity: 0 }));
vi.mock("../../models/step/program.ts", async (importOriginal) => {
  const m = await importOriginal<typeof import("../../models/step/program.ts")>();
  return {
    ...m,
    compileStep: (...args: Parameters<typeof m.compileStep>) => {
      const prog = m.compileStep(...args);
      if (room.capacity > 0) prog.dpCapacity = room.capacity;
      return prog;
    },
  };
});

describe("the data-parallel ring", () => {
  // Slow NVLink: reduce-scatters pile up behind the backward's compute.
  const s = scenario({ gpu: { ...IDEAL, scaleUpBandwidth: 1e9 }, nodes: 1, gpusPerNode: 4, model: TINY, seqLength: 2048, globalBatch: 8, gpuVariability: 0, plan: { dp: 4, zero: 3, gradReduceDtype: "bf16", fsdpPrefetch: 2, reshardAfterForward: false } });
  it("grown from the planned room gives the step it gives when it starts large enough", () => {
    room.capacity = 0;
    const grown = [simulateStep(s), simulateStepFull(s)];
    room.capacity = 1;
    const fromOne = [simulateStep(s), simulateStepFull(s)];
    room.capacity = 1000;
    const large = [simulateStep(s), simulateStepFull(s)];
    for (let i = 0; i < 2; i++) {
      expect(grown[i]!.stepSeconds).toBe(large[i]!.stepSeconds);
      expect(fromOne[i]!.stepSeconds).toBe(large[i]!.stepSeconds);
      expect(grown[i]!.breakdown).toEqual(large[i]!.breakdown);
    }
  });
});
