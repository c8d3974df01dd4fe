import { describe, expect, it } from "vitest";
import { problemsOf as problemsOfCall } from "../helpers/config-problems.ts";
import { join } from "node:path";
import { ConfigError } from "../../experiments/errors.ts";
import { expandPoints, experimentFromObject, loadExperiment, paramNames, pointCount, pointScenario, randomSamples, stableStringify, type Experiment } from "../../experiments/experiment.ts";
import { scenarioFromObject } from "../../experiments/load.ts";
import { applyOverride, withOverrides } from "../../experiments/overrides.ts";
import { evaluatePoint } from "../../experiments/runner.ts";

const ROOT = join(import.meta.dirname, "../..");
const FIXTURES = join(import.meta.dirname, "../fixtures/sweep");

const SMALL = {
  name: "inline-small",
  seed: 9,
  cluster: { gpu: "H100-SXM", nodes: 1 },
  workload: { model: "llama3-8b", seqLength: 2048, globalBatch: 32 },
  parallelism: { tp: 2 },
};

function experiment(fields: Record<string, unknown>): Experiment {
  return experimentFromObject({ name: "t", base: SMALL, ...fields }, { baseDir: FIXTURES, file: "t.yaml" });
}

function problemsOf(fields: Record<string, unknown>): { path: string; message: string }[] {
  return problemsOfCall(() => experiment(fields));
}

describe("experiment expansion", () => {
  it("a grid nests like for-loops in the order written: the first axis changes slowest", () => {
    const exp = experiment({ sweep: { "cluster.nodes": [1, 2, 4], "workload.seqLength": [1024, 2048] } });
    const points = expandPoints(exp);
    expect(pointCount(exp)).toBe(6);
    expect(points.map((p) => [p.index, p.params["cluster.nodes"], p.params["workload.seqLength"]])).toEqual([
      [0, 1, 1024],
      [1, 1, 2048],
      [2, 2, 1024],
      [3, 2, 2048],
      [4, 4, 1024],
      [5, 4, 2048],
    ]);
    expect(points.every((p) => p.seed === 9)).toBe(true); // default seeds: the scenario's own
  });

  it("zip walks a group's lists together; the grid is outside the zip; seeds are innermost", () => {
    const exp = experiment({
      sweep: { "cluster.gpu": ["H100-SXM", "H200"] },
      zip: [{ "cluster.nodes": [1, 2, 4], "workload.globalBatch": [32, 64, 128] }],
      seeds: [1, 2],
    });
    const points = expandPoints(exp);
    expect(points).toHaveLength(2 * 3 * 2);
    expect(points[0]).toEqual({ index: 0, seed: 1, params: { "cluster.gpu": "H100-SXM", "cluster.nodes": 1, "workload.globalBatch": 32 } });
    expect(points[1]).toEqual({ index: 1, seed: 2, params: { "cluster.gpu": "H100-SXM", "cluster.nodes": 1, "workload.globalBatch": 32 } });
    expect(points[3]?.params).toEqual({ "cluster.gpu": "H100-SXM", "cluster.nodes": 2, "workload.globalBatch": 64 });
    expect(points[6]?.params).toEqual({ "cluster.gpu": "H200", "cluster.nodes": 1, "workload.globalBatch": 32 });
    expect(points.map((p) => p.index)).toEqual([...Array(12).keys()]);
    expect(paramNames(exp)).toEqual(["cluster.gpu", "cluster.nodes", "workload.globalBatch"]);
  });

  it("grid x zip groups x points x random x seeds is a product, in that order", () => {
    const exp = experiment({
      sweep: { "cluster.nodes": [1, 2] },
      zip: [{ "workload.seqLength": [1024, 2048, 4096] }, { "parallelism.microBatch": [1, 2] }],
      points: [{ "parallelism.zero": 1 }, { "parallelism.zero": 2, "parallelism.recompute": "full" }],
      random: { samples: 3, seed: 4, axes: { "cluster.network.nicBandwidth": { min: "100 Gb/s", max: "800 Gb/s" } } },
      seeds: [1, 2],
    });
    const points = expandPoints(exp);
    expect(pointCount(exp)).toBe(2 * 3 * 2 * 2 * 3 * 2);
    expect(points).toHaveLength(144);
    const strides = { seed: 1, random: 2, points: 6, micro: 12, seq: 24, nodes: 72 };
    const p = points[strides.nodes + 2 * strides.seq + strides.micro + strides.points + 2 * strides.random + 1];
    expect(p?.seed).toBe(2);
    expect(p?.params).toMatchObject({ "cluster.nodes": 2, "workload.seqLength": 4096, "parallelism.microBatch": 2, "parallelism.zero": 2, "parallelism.recompute": "full" });
    // Points with fewer keys carry only their own.
    expect(points[0]?.params).not.toHaveProperty("parallelism.recompute");
    expect(paramNames(exp)).toEqual(["cluster.nodes", "workload.seqLength", "parallelism.microBatch", "parallelism.zero", "parallelism.recompute", "cluster.network.nicBandwidth"]);
    // The same file always expands to the same points.
    expect(stableStringify(expandPoints(exp))).toBe(stableStringify(points));
  });

  it("random samples are seeded, in range, integer for integer keys, and one axis never shifts another", () => {
    const axes = {
      "cluster.gpu.hbmBandwidth": { min: "1 TB/s", max: "8 TB/s", log: true },
      "cluster.nodes": { min: 1, max: 16 },
      "parallelism.recompute": { choices: ["none", "selective", "full"] },
    };
    const exp = experiment({ random: { samples: 50, seed: 7, axes } });
    const samples = expandPoints(exp).map((p) => p.params);
    expect(samples).toHaveLength(50);
    for (const s of samples) {
      const bw = s["cluster.gpu.hbmBandwidth"] as number;
      expect(bw).toBeGreaterThanOrEqual(1e12);
      expect(bw).toBeLessThanOrEqual(8e12);
      expect(Number.isInteger(s["cluster.nodes"])).toBe(true);
      expect(s["cluster.nodes"]).toBeGreaterThanOrEqual(1);
      expect(s["cluster.nodes"]).toBeLessThanOrEqual(16);
      expect(["none", "selective", "full"]).toContain(s["parallelism.recompute"]);
    }
    // Log-uniform: about half the samples below the geometric mean (sqrt(8) TB/s).
    const below = samples.filter((s) => (s["cluster.gpu.hbmBandwidth"] as number) < Math.sqrt(8) * 1e12).length;
    expect(below).toBeGreaterThan(10);
    expect(below).toBeLessThan(40);
    expect(new Set(samples.map((s) => s["parallelism.recompute"])).size).toBe(3);
    expect(stableStringify(expandPoints(experiment({ random: { samples: 50, seed: 7, axes } })))).toBe(stableStringify(expandPoints(exp)));

    const other = expandPoints(experiment({ random: { samples: 50, seed: 8, axes } })).map((p) => p.params["cluster.nodes"]);
    expect(other).not.toEqual(samples.map((s) => s["cluster.nodes"]));
    const { "parallelism.recompute": _dropped, ...fewer } = axes;
    const without = expandPoints(experiment({ random: { samples: 50, seed: 7, axes: fewer } }));
    expect(without.map((p) => p.params["cluster.nodes"])).toEqual(samples.map((s) => s["cluster.nodes"]));
  });

  it("randomSamples never calls Math.random", () => {
    const original = Math.random;
    Math.random = () => {
      throw new Error("Math.random used");
    };
    try {
      const spec = { samples: 3, seed: 1, axes: [["x", { kind: "range", min: 0, max: 1, log: false, integer: false }] as [string, { kind: "range"; min: number; max: number; log: boolean; integer: boolean }]] };
      expect(randomSamples(spec)).toHaveLength(3);
    } finally {
      Math.random = original;
    }
  });

  it("without seeds a point keeps the scenario's seed; with seeds each point's scenario gets its seed", () => {
    const exp = experiment({ seeds: [3, 4] });
    const points = expandPoints(exp);
    expect(points.map((p) => p.seed)).toEqual([3, 4]);
    expect(pointScenario(exp, points[1] as (typeof points)[number])["seed"]).toBe(4);
    const plain = experiment({});
    expect(expandPoints(plain)).toEqual([{ index: 0, seed: 9, params: {} }]);
  });

  it("loads the bundled experiments", () => {
    const def = loadExperiment(join(ROOT, "experiments/default.yaml"));
    expect(def.name).toBe("hbm-bandwidth-shift");
    expect(def.reports).toEqual(["bottleneck-shift"]);
    expect(expandPoints(def).map((p) => p.params["cluster.gpu.hbmBandwidth"])).toEqual(["0.5 TB/s", "1 TB/s", "2 TB/s", "3.35 TB/s", "4.8 TB/s", "8 TB/s"]);
    expect(pointCount(loadExperiment(join(ROOT, "experiments/sweeps/gpu-scaling.yaml")))).toBe(7);
    expect(pointCount(loadExperiment(join(ROOT, "experiments/sweeps/weak-scaling-fabric.yaml")))).toBe(10);
  });

  it("the default experiment's bottleneck shifts from hbm at 0.5 TB/s to something else at 8 TB/s", () => {
    const exp = loadExperiment(join(ROOT, "experiments/default.yaml"));
    const points = expandPoints(exp);
    const dominant = (i: number): string => {
      const p = points[i] as (typeof points)[number];
      const r = evaluatePoint({ ...p, experiment: exp.name, scenario: pointScenario(exp, p), loadOptions: exp.loadOptions });
      expect(r.status, r.error).toBe("ok");
      const breakdown = r.result?.breakdown as unknown as Record<string, number>;
      return Object.entries(breakdown).reduce((a, b) => (b[1] > a[1] ? b : a))[0];
    };
    expect(dominant(0)).toBe("hbm");
    expect(dominant(points.length - 1)).not.toBe("hbm");
  });
});

describe("overrides", () => {
  it("put values in as written, creating missing objects, without touching the original", () => {
    const raw = structuredClone(SMALL) as Record<string, unknown>;
    const out = withOverrides(raw, { "cluster.power.facilityCap": "30 MW", "workload.seqLength": 4096 });
    expect(out["cluster"]).toEqual({ gpu: "H100-SXM", nodes: 1, power: { facilityCap: "30 MW" } });
    expect((out["workload"] as Record<string, unknown>)["seqLength"]).toBe(4096);
    expect(raw).toEqual(SMALL);
    const s = scenarioFromObject(out, { baseDir: FIXTURES });
    expect(s.cluster.power.facilityCap).toBe(30e6);
  });

  it("a path into a catalog GPU name overrides that field of the catalog entry", () => {
    const out = withOverrides(SMALL, [["cluster.gpu.hbmBandwidth", "2 TB/s"]]);
    expect((out["cluster"] as Record<string, unknown>)["gpu"]).toEqual({ base: "H100-SXM", hbmBandwidth: "2 TB/s" });
    const s = scenarioFromObject(out, { baseDir: FIXTURES });
    expect(s.cluster.gpu.hbmBandwidth).toBe(2e12);
    expect(s.cluster.gpu.hbmBytes).toBe(80 * 2 ** 30); // the rest stays H100's
    // A second field lands in the same override object.
    const two = withOverrides(out, [["cluster.gpu.tdpWatts", "500 W"]]);
    expect((two["cluster"] as Record<string, unknown>)["gpu"]).toEqual({ base: "H100-SXM", hbmBandwidth: "2 TB/s", tdpWatts: "500 W" });
  });

  it("a path into a built-in model name overrides that field of the model", () => {
    const out = withOverrides(SMALL, [["workload.model.layers", 4]]);
    expect((out["workload"] as Record<string, unknown>)["model"]).toEqual({ base: "llama3-8b", layers: 4 });
    const s = scenarioFromObject(out, { baseDir: FIXTURES });
    expect(s.workload.model.layers).toBe(4);
    expect(s.workload.model.hidden).toBe(4096);
  });

  it("reaches values inherited through base: files", () => {
    const exp = loadExperiment(join(FIXTURES, "grid.yaml"));
    const first = expandPoints(exp)[0] as ReturnType<typeof expandPoints>[number];
    const raw = pointScenario(exp, first);
    expect(raw["base"]).toBeUndefined();
    expect((raw["cluster"] as Record<string, unknown>)["gpu"]).toEqual({ base: "H100-SXM", hbmBandwidth: "1 TB/s" });
    const s = scenarioFromObject(raw, exp.loadOptions);
    expect(s.name).toBe("small");
    expect(s.workload.model.layers).toBe(4);
    expect(s.cluster.gpu.hbmBandwidth).toBe(1e12);
  });

  it("unknown paths end up as the loader's errors, naming the path", () => {
    const out = withOverrides(SMALL, [["cluster.gpu.hbmBandwith", "2 TB/s"]]);
    expect(() => scenarioFromObject(out, { baseDir: FIXTURES })).toThrow(/cluster\.gpu\.hbmBandwith: unknown key; did you mean "hbmBandwidth"/);
    const nested = withOverrides(SMALL, [["cluster.nodes.count", 2]]);
    expect(() => scenarioFromObject(nested, { baseDir: FIXTURES })).toThrow(/cluster\.nodes: /);
    const unknownGpu = withOverrides({ ...SMALL, cluster: { gpu: "H100", nodes: 1 } }, [["cluster.gpu.hbmBandwidth", "2 TB/s"]]);
    expect(() => scenarioFromObject(unknownGpu, { baseDir: FIXTURES })).toThrow(/cluster\.gpu\.base: "H100" is not a GPU in the catalog/);
  });

  it("refuse prototype keys", () => {
    expect(() => applyOverride({}, "__proto__.polluted", 1)).toThrow(/not allowed/);
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
  });
});

describe("experiment errors", () => {
  it("name the path, the value and what is allowed, all at once", () => {
    const problems = problemsOf({
      sweep: { "cluster.nodes": [], "workload.seqLength": 4096 },
      zip: [{ "cluster.gpu": ["H100-SXM", "H200"], "workload.globalBatch": [32] }],
      seeds: [1, -2, 1],
      reports: ["bottleneck-shift", 3],
      swep: {},
    });
    const messages = problems.map((p) => p.message);
    expect(messages).toContain('swep: unknown key; did you mean "sweep"? allowed keys in an experiment: name, description, base, sweep, zip, points, random, seeds, reports');
    expect(messages).toContain("sweep.cluster.nodes: [] is not allowed; expected a non-empty list of values, e.g. [1 TB/s, 2 TB/s]");
    expect(messages).toContain("sweep.workload.seqLength: 4096 is not allowed; expected a non-empty list of values, e.g. [1 TB/s, 2 TB/s]");
    expect(messages).toContain("zip[0].workload.globalBatch: 1 value, but zip[0].cluster.gpu has 2; all lists of a zip group must have the same length");
    expect(messages).toContain("seeds[1]: -2 is not allowed; expected an integer >= 0");
    expect(messages).toContain("seeds[2]: 1 repeats an earlier seed; list each seed once");
    expect(messages).toContain("reports[1]: 3 is not allowed; expected a report name (a non-empty string)");
  });

  it("a swept path the scenario does not know is refused before anything runs", () => {
    const problems = problemsOf({ sweep: { "cluster.gpu.hbmBandwith": ["1 TB/s"], "clustr.nodes": [1] } });
    expect(problems.map((p) => p.path)).toEqual(["sweep.cluster.gpu.hbmBandwith", "sweep.clustr.nodes"]);
    expect(problems[0]?.message).toMatch(/^sweep\.cluster\.gpu\.hbmBandwith: unknown scenario key; did you mean "hbmBandwidth"\? allowed keys in cluster\.gpu: /);
    expect(problems[1]?.message).toMatch(/^sweep\.clustr\.nodes: clustr: unknown scenario key; did you mean "cluster"\?/);
  });

  it("a key swept in two places, or inside another swept key, is refused", () => {
    const problems = problemsOf({ sweep: { "cluster.gpu": ["H200"] }, points: [{ "cluster.gpu.hbmBandwidth": "2 TB/s" }], zip: [{ "cluster.gpu": ["B200"] }] });
    expect(problems.map((p) => p.message)).toEqual([
      "zip[0].cluster.gpu: cluster.gpu is also swept by sweep.cluster.gpu; sweep each scenario key in one place only",
      "points[0].cluster.gpu.hbmBandwidth: cluster.gpu.hbmBandwidth overlaps sweep.cluster.gpu; sweep each scenario key in one place only",
    ]);
    expect(problemsOf({ sweep: { seed: [1, 2] } })[0]?.message).toBe("sweep.seed: the scenario seed is not swept here; list seeds under seeds: [1, 2, 3]");
  });

  it("random axes are checked against the key's unit and range", () => {
    const problems = problemsOf({
      random: {
        samples: 2,
        axes: {
          "cluster.gpu.hbmBandwidth": { min: "8 TB/s", max: "1 TB/s" },
          "cluster.network.nicBandwidth": { min: "100 W", max: "400 Gb/s" },
          "cluster.nodes": { min: 0, max: 4, log: true },
          "parallelism.recompute": { choices: [] },
        },
      },
    });
    expect(problems.map((p) => p.path)).toEqual([
      "random.axes.cluster.gpu.hbmBandwidth.max",
      "random.axes.cluster.network.nicBandwidth.min",
      "random.axes.cluster.nodes.min",
      "random.axes.parallelism.recompute.choices",
    ]);
    expect(problems[1]?.message).toMatch(/"100 W" is not a bandwidth \("W" is a unit of a power\)/);
    expect(problemsOf({ random: { axes: { "cluster.nodes": { min: 1, max: 2 } } } })[0]?.message).toBe("random.samples: required key is missing; expected an integer >= 1");
  });

  it("the base must exist and be a scenario; its file errors name the file", () => {
    expect(() => experimentFromObject({ name: "x", sweep: {} }, { baseDir: FIXTURES })).toThrow(/base: required key is missing/);
    expect(() => experimentFromObject({ base: "nothere.yaml" }, { baseDir: FIXTURES })).toThrow(/base: cannot read ".*nothere\.yaml"/);
    expect(() => experimentFromObject({ base: 3 }, { baseDir: FIXTURES })).toThrow(/base: 3 is not allowed; expected the path of a scenario file/);
    expect(() => experimentFromObject([], { baseDir: FIXTURES })).toThrow(/\(config\): \[\] is not allowed; expected an experiment/);
    expect(() => loadExperiment(join(FIXTURES, "missing.yaml"))).toThrow(ConfigError);
  });

  it("an invalid base scenario is not an experiment error: each point is recorded invalid", () => {
    const exp = experiment({ base: { ...SMALL, parallelism: { tp: 3 } } });
    const p = expandPoints(exp)[0] as ReturnType<typeof expandPoints>[number];
    const r = evaluatePoint({ ...p, experiment: exp.name, scenario: pointScenario(exp, p), loadOptions: exp.loadOptions });
    expect(r.status).toBe("invalid");
    expect(r.error).toMatch(/parallelism\.tp: 3 does not divide workload\.heads 32/);
  });
});
