/**
 * The planner against published layouts (issue 25's floors; validation tier: whole searches,
 * minutes). A published case's own layout is always simulated as the baseline, so "at least as
 * fast" is checked against the best layout the search itself found.
 */
import { describe, expect, it } from "vitest";
import { planScenario, type PlanEntry, type PlanResult } from "../../experiments/plan/search.ts";

/** The best layout the search found in its space (the baseline counts only when it is one of them). */
function bestSearched(plan: PlanResult): PlanEntry {
  const found = plan.ranking.find((e) => !e.baseline || plan.baselineInSpace);
  if (found === undefined) throw new Error(`${plan.scenario}: the search simulated nothing`);
  return found;
}

describe("plan: Llama 3 405B on 16,384 H100 (sequence 8,192, global batch 2,048)", () => {
  it("finds a layout predicted at least as fast as the published TP 8, PP 16, DP 128 interleaved one, which it simulates and ranks", async () => {
    // Llama Team 2024, Table 4 row 2 and Sec. 3.3 (experiments/published/llama3/405b-16k.yaml).
    const plan = await planScenario("experiments/published/llama3/405b-16k.yaml", { top: 10, workers: 2 });
    const published = plan.baseline;
    expect(published?.key).toBe("tp8 pp16 v2 dp128 mb1 z2 none ends3");
    expect(plan.counts.simulated).toBeGreaterThan(10);
    expect(bestSearched(plan).stepSeconds).toBeLessThanOrEqual((published as PlanEntry).stepSeconds);
    // Issue 25 also asks the published layout to rank in the top 10 or within 5 % of the best. The
    // paper states TP 8, PP 16, DP 128 and an interleaved schedule, not its number of chunks: that
    // family ranks in the top 10 (with 4 chunks); the case's assumed 2 chunks rank far lower
    // (docs/plan.md, "The published Llama 3 405B layout").
    const family = plan.ranking.slice(0, 10).filter((e) => /^tp8 pp16 v[2-8] dp128 mb/.test(e.key));
    expect(family.map((e) => e.key)).toContain("tp8 pp16 v4 dp128 mb1 z2 none ends1");
  }, 1_200_000);

  it("with the memory a production run leaves free (10 %), the best layout is the published TP 8, PP 16, DP 128 interleaved one", async () => {
    // The paper states TP, PP, DP and an interleaved schedule, not its number of chunks (the case
    // assumes the smallest, 2): the search's best keeps all three degrees and interleaves with 4.
    const plan = await planScenario("experiments/published/llama3/405b-16k.yaml", { top: 10, workers: 2, memoryHeadroom: 0.1 });
    const best = bestSearched(plan);
    expect(best.key).toMatch(/^tp8 pp16 v[2-8] dp128 /);
    expect(best.key).toBe("tp8 pp16 v4 dp128 mb1 z2 none ends1");
    expect(best.memoryBytesPerGpu).toBeLessThanOrEqual(0.9 * 80 * 2 ** 30);
    expect(best.stepSeconds).toBeLessThan((plan.baseline as PlanEntry).stepSeconds);
  }, 1_200_000);
});

describe("plan: published cases of trainsim validate", () => {
  // Multi-GPU cases from different stacks whose own layout the memory model accepts
  // (fa2-gpt3-2.7b-8k is refused for memory, issue 23, so it has no baseline to beat).
  const CASES = [
    "kempnerforge2026/04-7b-4gpu-fsdp4.yaml",
    "kempnerforge2026/06-7b-4gpu-tp2-fsdp2.yaml",
    "kempnerforge2026/09-13b-8gpu-tp4-fsdp2.yaml",
    "kempnerforge2026/10-7b-16gpu-tp4-fsdp4.yaml",
    "korthikanti2022/22b-selective.yaml",
    "torchao-float8/h100-bf16.yaml",
    "gpu-recipes-a4-nemo/qwen2.5-7b-16gpu-bf16.yaml",
    "gpu-recipes-a4-nemo/llama3-8b-8gpu-fp8.yaml",
    "xtuner/llama2-7b-32k-8gpu-sp1.yaml",
    "easycontext/64k-ring.yaml",
    "narayanan2021/gpt-1.7b.yaml",
  ];
  it.each(CASES)("%s: the planner's best is predicted at least as fast as the published layout", async (file) => {
    const plan = await planScenario(`experiments/published/${file}`, { top: 1, workers: 2 });
    expect(plan.baseline, plan.baselineProblem).toBeDefined();
    expect(bestSearched(plan).stepSeconds).toBeLessThanOrEqual((plan.baseline as PlanEntry).stepSeconds);
  }, 600_000);
  it("covers at least 10 cases", () => expect(CASES.length).toBeGreaterThanOrEqual(10));
});
