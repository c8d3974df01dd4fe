import { describe, expect, it } from "vitest";
import { ConfigError } from "../../experiments/errors.ts";
import { scenarioFromObject } from "../../experiments/load.ts";
import { planJson } from "../../experiments/plan/format.ts";
import { checkObjectiveInputs, costPerToken, objectiveLowerBound, planFromRaw, readScenarioRaw } from "../../experiments/plan/search.ts";

const SMALL = "experiments/scenarios/llama3-8b-64.yaml";
/** A narrow search of the small scenario (64 H100, 512 × 8,192 tokens per step): a few layouts. */
const LIMITS = { tp: [1, 2], pp: [1], cp: [1], microBatch: [1], zero: [1, 2] as (0 | 1 | 2 | 3)[], recompute: ["none" as const] };
const TOKENS = 512 * 8192;

function withPower(raw: Record<string, unknown>, power: Record<string, unknown>): Record<string, unknown> {
  const cluster = raw["cluster"] as Record<string, unknown>;
  return { ...raw, cluster: { ...cluster, power: { ...((cluster["power"] as Record<string, unknown> | undefined) ?? {}), ...power } } };
}

describe("plan --objective cost-per-token", () => {
  it("prices GPU-hours and facility energy per token (by hand)", () => {
    // 64 GPUs for 6 s at 2.5 per GPU-hour: 64·6/3600·2.5 = 0.26667 per step of 4,194,304 tokens
    // = 6.3578e-8 per token; 0.1 J per token at 0.08 per kWh = 0.1/3.6e6·0.08 = 2.2222e-9.
    const c = costPerToken({ gpus: 64, tokensPerStep: TOKENS, pricePerGpuHour: 2.5, pricePerKWh: 0.08 }, 6, 0.1);
    expect(c).toBeCloseTo(6.580050998e-8, 15);
    expect(costPerToken({ gpus: 64, tokensPerStep: TOKENS, pricePerKWh: 0.08 }, 6, 0.1)).toBeUndefined();
  });

  it("ranks by the cost of each layout's own step and energy, cheapest first", async () => {
    const { raw, loadOptions } = readScenarioRaw(SMALL);
    const priced = withPower(raw, { pricePerGpuHour: 2.5, pricePerKWh: 0.08 });
    const plan = await planFromRaw(priced, loadOptions, { top: 10, limits: LIMITS, objective: "cost-per-token", workers: 0 });
    expect(plan.ranking.length).toBeGreaterThan(2);
    const ctx = { objective: "cost-per-token" as const, gpus: 64, tokensPerStep: TOKENS, pricePerGpuHour: 2.5, pricePerKWh: 0.08 };
    const idleWatts = 64 * scenarioFromObject(priced, loadOptions).cluster.gpu.idleWatts;
    plan.ranking.forEach((e, i) => {
      const expected = (64 * (e.stepSeconds / 3600) * 2.5) / TOKENS + (e.energyJoulesPerToken / 3.6e6) * 0.08;
      expect(e.costPerToken, e.key).toBeCloseTo(expected, 18);
      expect(e.objectiveValue).toBe(e.costPerToken);
      if (i > 0) expect(e.objectiveValue).toBeGreaterThanOrEqual((plan.ranking[i - 1] as (typeof plan.ranking)[number]).objectiveValue);
      // The bound it was pruned with never exceeds it.
      expect(objectiveLowerBound("cost-per-token", e.boundStepSeconds, { ...ctx, idleWatts })).toBeLessThanOrEqual(e.objectiveValue);
    });
    expect(plan.why).toMatch(/% lower cost per token: its \w+ time per step shrank/);
    expect(planJson(plan, 3).top as unknown[]).toHaveLength(3);
    expect((planJson(plan, 3).top as { costPerToken: number }[])[0]?.costPerToken).toBeGreaterThan(0);
  });

  it("refuses a scenario without both prices, naming the keys", () => {
    const { raw, loadOptions } = readScenarioRaw(SMALL);
    const onlyKWh = scenarioFromObject(withPower(raw, { pricePerKWh: 0.08 }), loadOptions);
    expect(() => checkObjectiveInputs(onlyKWh, "cost-per-token")).toThrow(ConfigError);
    expect(() => checkObjectiveInputs(onlyKWh, "cost-per-token")).toThrow(/cluster\.power\.pricePerGpuHour is missing/);
    expect(() => checkObjectiveInputs(onlyKWh, "tokens-per-second")).not.toThrow();
  });
});
