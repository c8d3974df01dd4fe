/** workload.moe.padToCapacity as the loader reads it (Megatron-Core --moe-pad-expert-input-to-capacity). */
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../experiments/errors.ts";
import { scenarioFromObject } from "../../experiments/load.ts";

function load(moe: Record<string, unknown>) {
  const obj = { cluster: { gpu: "H100-SXM", nodes: 1 }, workload: { model: "mixtral-8x7b", seqLength: 4096, globalBatch: 8, moe }, parallelism: { ep: 8 } };
  return scenarioFromObject(obj, { baseDir: ".", name: "test" });
}

describe("workload.moe.padToCapacity", () => {
  it("is read with a capacity factor", () => {
    expect(load({ capacityFactor: 1.0, padToCapacity: true }).workload.moe).toMatchObject({ capacityFactor: 1, padToCapacity: true });
    expect(load({ capacityFactor: 1.0 }).workload.moe?.padToCapacity).toBeUndefined();
  });

  it("without a capacity factor is refused, naming the field and what it needs", () => {
    try {
      load({ padToCapacity: true });
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      const p = (e as ConfigError).problems;
      expect(p.map((x) => x.path)).toContain("workload.moe.padToCapacity");
      expect(JSON.stringify(p)).toContain("capacityFactor");
      return;
    }
    throw new Error("expected a ConfigError");
  });
});
