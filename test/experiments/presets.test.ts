import { describe, expect, it } from "vitest";
import { ConfigError } from "../../experiments/errors.ts";
import { scenarioFromObject } from "../../experiments/load.ts";
import { CLUSTER_PRESETS } from "../../experiments/presets.ts";

const workload = { model: "llama3-8b", seqLength: 4096, globalBatch: 64 };

function load(cluster: Record<string, unknown>) {
  return scenarioFromObject({ cluster, workload, parallelism: { tp: 2 } }, { baseDir: "." });
}

describe("cluster presets", () => {
  it("every preset loads into a valid scenario and names its source", () => {
    for (const [name, preset] of Object.entries(CLUSTER_PRESETS)) {
      expect(preset.source.length, name).toBeGreaterThan(10);
      const s = load({ preset: name, nodes: 2 });
      expect(s.cluster.gpu.name).toBe(preset.cluster["gpu"]);
      expect(s.cluster.gpusPerNode).toBe(preset.cluster["gpusPerNode"]);
    }
  });

  it("dgx-h100-superpod fills the GPU and a 400 Gb/s rail-optimized fabric", () => {
    const s = load({ preset: "dgx-h100-superpod", nodes: 4 });
    expect(s.cluster.gpu.name).toBe("H100-SXM");
    expect(s.cluster.nodes).toBe(4);
    expect(s.cluster.network.topology).toBe("rail-optimized");
    expect(s.cluster.network.nicBandwidth).toBe(50e9); // 400 Gb/s = 50 GB/s
    expect(s.cluster.network.routing).toBe("dmodk");
  });

  it("the file's own keys override the preset's, nested keys one by one", () => {
    const s = load({ preset: "meta-h100-roce", nodes: 2, gpu: "H200", network: { oversubscription: 2 } });
    expect(s.cluster.gpu.name).toBe("H200");
    expect(s.cluster.network.oversubscription).toBe(2);
    // untouched preset keys survive the nested override
    expect(s.cluster.network.routing).toBe("ecmp");
    expect(s.cluster.network.flowsPerConnection).toBe(16);
  });

  it("an unknown preset is an error naming the field, the value and the allowed names", () => {
    try {
      load({ preset: "dgx-z900", nodes: 2 });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      const msg = (e as ConfigError).problems.map((p) => p.message).join("\n");
      expect(msg).toContain("cluster.preset");
      expect(msg).toContain("dgx-z900");
      expect(msg).toContain("dgx-h100-superpod");
    }
  });
});
