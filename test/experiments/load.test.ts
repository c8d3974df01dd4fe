import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { problemsOf as problemsOfCall } from "../helpers/config-problems.ts";
import { clusterSpec } from "../../experiments/defaults.ts";
import { ConfigError, type ConfigProblem } from "../../experiments/errors.ts";
import { loadScenario, scenarioFromObject, type LoadedScenario } from "../../experiments/load.ts";
import { scenarioJsonSchema } from "../../experiments/schema.ts";
import { CATALOG } from "../../models/hardware/catalog.ts";
import type { Accelerator } from "../../models/hardware/types.ts";
import { BUILTIN_MODELS } from "../../models/workload/builtins.ts";

const FIXTURES = fileURLToPath(new URL("../fixtures/config/", import.meta.url));
const fixture = (name: string): string => join(FIXTURES, name);

const H100 = CATALOG["H100-SXM"]!;
const LLAMA3_8B = BUILTIN_MODELS["llama3-8b"]!;

/** The problems a load reports; fails the test if it loads. */
function problemsOf(load: () => unknown): ConfigProblem[] {
  const problems = problemsOfCall(load);
  for (const p of problems) expect(p.message.startsWith(`${p.path}: `), p.message).toBe(true);
  return problems;
}

const paths = (problems: ConfigProblem[]): string[] => problems.map((p) => p.path);

/** A small valid scenario to vary in place. */
function minimal(): Record<string, unknown> {
  return {
    cluster: { gpu: "H100-SXM", nodes: 2 },
    workload: { model: "llama3-8b", seqLength: 4096, globalBatch: 64 },
    parallelism: { tp: 8 },
  };
}

const fromObject = (obj: unknown): LoadedScenario => scenarioFromObject(obj, { baseDir: FIXTURES, name: "test" });

describe("loading a valid scenario", () => {
  it("converts every quantity with units to exact SI numbers", () => {
    const s = loadScenario(fixture("llama3-70b-units.yaml"));
    expect(s.name).toBe("llama3-70b-512");
    expect(s.seed).toBe(7);
    expect(s.cluster.network).toEqual({ topology: "fat-tree", nicBandwidth: 5e10, oversubscription: 2, routing: "dmodk", flowsPerConnection: 1, switchRadix: 64 });
    // nodeOverheadWatts: not given, so 45 % of the node's GPU TDP, 0.45 · 8 · 700 W.
    expect(s.cluster.power).toEqual({ gpuPowerLimit: 650, facilityCap: 1.2e6, pue: 1.3, controllerInterval: 0.1, nodesPerRack: 4, nodeOverheadWatts: 2520 });
    expect(s.reliability).toMatchObject({ checkpointInterval: 1800, checkpointMode: "sync", detectionTime: 60, restartTime: 600, repairTime: 86400 });
    expect(s.run).toEqual({ steps: 10, duration: 4665600 });
    expect(s.cluster.gpu).toEqual(H100);
    // tp 8: Megatron-style padding of 128,256 to a multiple of 128·8 = 1,024.
    expect(s.workload.model).toEqual({ ...BUILTIN_MODELS["llama3-70b"], vocab: 129024, unpaddedVocab: 128256 });
    expect(s.parallelism).toMatchObject({ tp: 8, pp: 4, dp: 16, recompute: "selective" });
  });

  it("reads cluster.stragglers as job ranks with speeds, sorted, units allowed", () => {
    const s = fromObject({ ...minimal(), cluster: { gpu: "H100-SXM", nodes: 2, stragglers: { 9: "70 %", 3: 0.5 } } });
    expect(s.cluster.stragglers).toEqual([
      { gpu: 3, speed: 0.5 },
      { gpu: 9, speed: 0.7 },
    ]);
    expect(fromObject(minimal()).cluster.stragglers).toBeUndefined();
  });

  it("fills every cluster default the models read, as clusterSpec does for code without a config file", () => {
    const s = fromObject({ ...minimal(), cluster: { gpu: "H100-SXM", nodes: 2 } });
    expect(s.cluster.gpuVariability).toBe(0.012);
    expect(s.cluster.power.controllerInterval).toBe(0.1);
    expect(clusterSpec({ gpu: CATALOG["H100-SXM"] as Accelerator, nodes: 2 })).toEqual(s.cluster);
  });

  it("fills defaults: dp from the GPU count, sequenceParallel = tp > 1, nicBandwidth from the catalog", () => {
    const s = loadScenario(fixture("defaults-only.yaml"));
    expect(s.name).toBe("defaults-only");
    expect(s.seed).toBe(1);
    expect(s.cluster.gpusPerNode).toBe(8);
    expect(s.cluster.network).toEqual({ topology: "rail-optimized", nicBandwidth: H100.nicBandwidth, oversubscription: 1, routing: "dmodk", flowsPerConnection: 1, switchRadix: 64 });
    expect(s.cluster.power).toEqual({ pue: 1.2, controllerInterval: 0.1, nodesPerRack: 4, nodeOverheadWatts: 2520 });
    expect(s.workload.precision).toBe("bf16");
    expect(s.workload.attention).toBe("flash");
    expect(s.parallelism).toEqual({
      tp: 4,
      pp: 1,
      dp: 8,
      cp: 1,
      ep: 1,
      microBatch: 1,
      virtualStages: 1,
      zero: 1,
      recompute: "none",
      sequenceParallel: true,
      overlapGradReduce: true,
      gradReduceDtype: "fp32",
      gradAccumulationFusion: true,
      tpCommOverlap: false,
      overlapP2P: false,
      overlapParamGather: false,
      cpCommType: "p2p",
      cpLayout: "zigzag",
    });
    expect(s.run).toEqual({ steps: 1 });
    expect(s.reliability).toBeUndefined();
    expect(s.source).toBeUndefined();
    expect(s.published).toBeUndefined();
  });

  it("reads JSON too, with defaults that follow precision and tp", () => {
    const s = loadScenario(fixture("fp16-no-tp.json"));
    expect(s.name).toBe("fp16-no-tp");
    expect(s.parallelism.sequenceParallel).toBe(false);
    expect(s.parallelism.gradReduceDtype).toBe("fp16");
    expect(s.parallelism.dp).toBe(1);
    expect(s.cluster.network.nicBandwidth).toBe(CATALOG["A100-80GB"]!.nicBandwidth);
  });

  it("keeps the published figure and its source", () => {
    const s = loadScenario(fixture("published-case.yaml"));
    expect(s.source).toBe("Example paper, Table 2");
    expect(s.published).toEqual({ metric: "mfu", value: 0.41, note: "measured over steps 100-200" });
    expect(s.name).toBe("published-case");
  });

  it("names an inline config from the options, else 'scenario'", () => {
    expect(fromObject(minimal()).name).toBe("test");
    expect(scenarioFromObject(minimal(), { baseDir: FIXTURES }).name).toBe("scenario");
    expect(fromObject({ ...minimal(), name: "mine" }).name).toBe("mine");
  });
});

describe("base: files", () => {
  it("merges a base underneath: the file's keys win, objects merge deeply", () => {
    const s = loadScenario(fixture("child.yaml"));
    expect(s.name).toBe("child"); // a name is never inherited
    expect(s.seed).toBe(3);
    expect(s.cluster.nodes).toBe(16);
    expect(s.cluster.network).toEqual({ topology: "rail-optimized", nicBandwidth: 5e10, oversubscription: 2, routing: "dmodk", flowsPerConnection: 1, switchRadix: 64 });
    expect(s.cluster.power.pue).toBe(1.1);
    expect(s.workload.seqLength).toBe(4096);
    expect(s.workload.globalBatch).toBe(256);
    expect(s.parallelism).toMatchObject({ tp: 8, pp: 4, dp: 4 });
  });

  it("follows chains", () => {
    const s = loadScenario(fixture("grandchild.yaml"));
    expect(s.cluster.nodes).toBe(32);
    expect(s.parallelism).toMatchObject({ tp: 8, pp: 8, dp: 4 });
    expect(s.cluster.gpu.hbmBandwidth).toBe(8e12);
    expect(s.workload.seqLength).toBe(4096);
    expect(s.cluster.power.pue).toBe(1.1);
  });

  it("reports a cycle", () => {
    const problems = problemsOf(() => loadScenario(fixture("cycle-a.yaml")));
    const cycle = problems.find((p) => p.path === "base");
    expect(cycle?.message).toMatch(/^base: "cycle-a\.yaml" makes a cycle of base files: .*cycle-a\.yaml -> .*cycle-b\.yaml -> .*cycle-a\.yaml$/);
  });

  it("reports a missing base file", () => {
    const problems = problemsOf(() => fromObject({ ...minimal(), base: "no-such-file.yaml" }));
    expect(paths(problems)).toEqual(["base"]);
    expect(problems[0]!.message).toMatch(/^base: cannot read ".*no-such-file\.yaml"/);
  });

  it("resolves a base's relative paths against the base file", () => {
    const s = loadScenario(fixture("hf-via-base.yaml"));
    expect(s.workload.model.hidden).toBe(4096);
    expect(s.parallelism.tp).toBe(2);
  });

  it("resolves base: of an inline object against baseDir", () => {
    const s = scenarioFromObject({ base: "defaults-only.yaml", cluster: { nodes: 8 } }, { baseDir: FIXTURES });
    expect(s.cluster.nodes).toBe(8);
    expect(s.parallelism.dp).toBe(16);
  });
});

describe("cluster.gpu", () => {
  it("{base: H100-SXM, hbmBandwidth: 8 TB/s} changes only that field", () => {
    const s = loadScenario(fixture("child.yaml"));
    const { name, hbmBandwidth, sources, ...rest } = s.cluster.gpu;
    const { name: _n, hbmBandwidth: was, sources: catalogSources, ...catalogRest } = H100;
    expect(rest).toEqual(catalogRest);
    expect(hbmBandwidth).toBe(8e12);
    expect(was).toBe(3.35e12);
    expect(name).toBe("H100-SXM*");
    expect(sources["hbmBandwidth"]).toMatch(/^overridden in .*child\.yaml$/);
    expect({ ...sources, hbmBandwidth: catalogSources["hbmBandwidth"] }).toEqual(catalogSources);
  });

  it("overrides peakFlops and efficiency field by field", () => {
    const base = minimal();
    (base["cluster"] as Record<string, unknown>)["gpu"] = {
      base: "H100-SXM",
      name: "H100-fast",
      peakFlops: { bf16: "1.2 PFLOP/s" },
      efficiency: { gemmPeakFraction: 0.9 },
      tdp: "800 W",
    };
    const gpu = fromObject(base).cluster.gpu;
    expect(gpu.name).toBe("H100-fast");
    expect(gpu.peakFlops).toEqual({ ...H100.peakFlops, bf16: 1.2e15 });
    expect(gpu.efficiency).toEqual({ ...H100.efficiency, gemmPeakFraction: 0.9 });
    expect(gpu.tdpWatts).toBe(800);
    expect(gpu.sources["efficiency.hbmPeakFraction"]).toBe(H100.sources["efficiency.hbmPeakFraction"]);
    expect(gpu.sources["efficiency.gemmPeakFraction"]).toBe("overridden in test");
    expect(gpu.sources["tdpWatts"]).toBe("overridden in test");
  });

  it("takes an inline spec with units, aliases and default calibrations", () => {
    const s = loadScenario(fixture("inline-gpu-model.yaml"));
    const gpu = s.cluster.gpu;
    expect(gpu).toMatchObject({
      name: "NextGen-1",
      vendor: "Example",
      peakFlops: { bf16: 2e15, fp8: 4e15 },
      hbmBytes: 192 * 2 ** 30,
      hbmBandwidth: 6e12,
      scaleUpBandwidth: 9e11,
      scaleUpKind: "nvlink",
      scaleUpDomain: 8,
      nicBandwidth: 1e11,
      tdpWatts: 1000,
      idleWatts: 120,
      smCount: 160,
      efficiency: { gemmPeakFraction: 0.75, hbmPeakFraction: 0.85, kernelLaunchSeconds: 3e-6, attentionPeakFraction: 0.6 },
    });
    expect(gpu.sources["hbmBandwidth"]).toBe("vendor preview deck, slide 4");
    expect(gpu.sources["hbmBytes"]).toMatch(/^user-defined in .*inline-gpu-model\.yaml$/);
    expect(gpu.sources["peakFlops.fp8"]).toMatch(/^user-defined in /);
    expect(gpu.sources["efficiency.hbmPeakFraction"]).toMatch(/^trainsim default/);
    expect(gpu.sources["scaleUpDomain"]).toMatch(/^trainsim default/);
    expect(gpu.sources["tdpWatts"]).toMatch(/^user-defined in /);
    expect(s.cluster.network.nicBandwidth).toBe(1e11);
  });

  it("lists the catalog and suggests a close name", () => {
    const s = minimal();
    (s["cluster"] as Record<string, unknown>)["gpu"] = "H100";
    const [p, ...rest] = problemsOf(() => fromObject(s));
    expect(rest).toEqual([]);
    expect(p!.path).toBe("cluster.gpu");
    expect(p!.message).toMatch(/^cluster\.gpu: "H100" is not a GPU in the catalog; expected one of "A100-40GB", .*"H100-SXM".* \(did you mean "H100-SXM" or "H200" or "H800"\?\)$/);
  });

  it("refuses a power limit above the TDP or below idle", () => {
    for (const limit of ["800 W", 50]) {
      const s = minimal();
      (s["cluster"] as Record<string, unknown>)["power"] = { gpuPowerLimit: limit };
      const problems = problemsOf(() => fromObject(s));
      expect(paths(problems)).toEqual(["cluster.power.gpuPowerLimit"]);
      expect(problems[0]!.message).toMatch(/between H100-SXM's idle power 85 W and its TDP 700 W$/);
    }
  });

  it("reports a spec written under both a name and its alias, and idle power above the TDP", () => {
    const s = minimal();
    (s["cluster"] as Record<string, unknown>)["gpu"] = { base: "H100-SXM", tdp: "700 W", tdpWatts: 700, idlePower: "900 W" };
    const problems = problemsOf(() => fromObject(s));
    expect(paths(problems)).toEqual(["cluster.gpu.tdpWatts", "cluster.gpu.idlePower"]);
    expect(problems[0]!.message).toMatch(/give only one of tdp and tdpWatts/);
    expect(problems[1]!.message).toMatch(/^cluster\.gpu\.idlePower: 900 W is not allowed; idle power must not exceed the TDP 700 W$/);
  });

  it("names every missing field of an inline spec", () => {
    const s = minimal();
    (s["cluster"] as Record<string, unknown>)["gpu"] = { name: "half-done", hbmBytes: "80 GiB" };
    const problems = problemsOf(() => fromObject(s));
    expect(paths(problems)).toEqual([
      "cluster.gpu.peakFlops",
      "cluster.gpu.hbmBandwidth",
      "cluster.gpu.scaleUpBandwidth",
      "cluster.gpu.nicBandwidth",
      "cluster.gpu.tdpWatts",
      "cluster.gpu.idleWatts",
      "cluster.gpu.smCount",
    ]);
    expect(problems[1]!.message).toBe(
      'cluster.gpu.hbmBandwidth: required key is missing; expected a bandwidth >= 1 GB/s',
    );
  });
});

describe("workload.model", () => {
  const shape = (m: LoadedScenario["workload"]["model"]): Record<string, unknown> => {
    const { name: _n, source: _s, ...rest } = m;
    return rest;
  };

  it("{hf: ./config.json} for Llama-3-8B equals the built-in llama3-8b shape", () => {
    const s = loadScenario(fixture("hf-model.yaml"));
    // Both padded alike at tp 8 (128,256 to 129,024).
    expect(shape(s.workload.model)).toEqual({ ...shape(LLAMA3_8B), vocab: 129024, unpaddedVocab: 128256 });
    expect(s.workload.model.name).toBe("llama3-8b");
  });

  it("an inline model gets the documented defaults", () => {
    const s = minimal();
    (s["workload"] as Record<string, unknown>)["model"] = { layers: 4, hidden: 512, heads: 8, vocab: 1024 };
    const m = fromObject(s).workload.model;
    expect(m).toEqual({
      name: "custom",
      layers: 4,
      hidden: 512,
      heads: 8,
      kvHeads: 8,
      ffn: 2048,
      vocab: 1024,
      gatedMlp: false,
      experts: 1,
      topK: 1,
      tiedEmbeddings: true,
      positionEmbeddings: 0,
      dropout: false,
      bias: false,
      source: "user-defined in test",
    });
  });

  it("an inline MoE model loads with its experts", () => {
    const m = loadScenario(fixture("inline-gpu-model.yaml")).workload.model;
    expect(m).toMatchObject({ name: "tiny-moe", kvHeads: 4, ffn: 8192, experts: 8, topK: 2, gatedMlp: true });
  });

  it("{base: <built-in>, ...} changes only the given fields", () => {
    const s = minimal();
    (s["workload"] as Record<string, unknown>)["model"] = { base: "llama3-8b", layers: 16 };
    const m = fromObject(s).workload.model;
    expect(shape(m)).toEqual({ ...shape(LLAMA3_8B), layers: 16, vocab: 129024, unpaddedVocab: 128256 });
    expect(m.name).toBe("llama3-8b*");
    expect(m.source).toMatch(/overridden in test: layers$/);
  });

  it("checks the shape of an inline model", () => {
    const s = minimal();
    (s["workload"] as Record<string, unknown>)["model"] = { layers: 4, hidden: 500, heads: 8, kvHeads: 3, vocab: 1024, experts: 2, topK: 3 };
    (s["parallelism"] as Record<string, unknown>)["tp"] = 1;
    (s["cluster"] as Record<string, unknown>)["nodes"] = 1;
    const problems = problemsOf(() => fromObject(s));
    expect(paths(problems)).toEqual(["workload.model.hidden", "workload.model.kvHeads", "workload.model.topK"]);
    expect(problems[0]!.message).toBe("workload.model.hidden: 500 is not allowed; hidden must be a multiple of heads (8)");
  });

  it("lists the built-ins for an unknown name", () => {
    const s = minimal();
    (s["workload"] as Record<string, unknown>)["model"] = "llama3-8";
    const problems = problemsOf(() => fromObject(s));
    expect(paths(problems)).toEqual(["workload.model"]);
    expect(problems[0]!.message).toMatch(/not a built-in model; expected one of .*"llama3-405b".* \(did you mean "llama3-8b"\?\)/);
  });

  it("reports an unreadable or broken config.json at workload.model.hf", () => {
    const dir = mkdtempSync(join(tmpdir(), "trainsim-hf-"));
    writeFileSync(join(dir, "bad.json"), JSON.stringify({ hidden_size: "big", num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 64, vocab_size: 100 }));
    const missing = minimal();
    (missing["workload"] as Record<string, unknown>)["model"] = { hf: "./missing/config.json" };
    const p1 = problemsOf(() => scenarioFromObject(missing, { baseDir: dir }));
    expect(paths(p1)).toEqual(["workload.model.hf"]);
    expect(p1[0]!.message).toMatch(/^workload\.model\.hf: "\.\/missing\/config\.json" cannot be read/);
    const broken = minimal();
    (broken["workload"] as Record<string, unknown>)["model"] = { hf: "bad.json" };
    const p2 = problemsOf(() => scenarioFromObject(broken, { baseDir: dir }));
    expect(paths(p2)).toEqual(["workload.model.hf:hidden_size"]);
    expect(p2[0]!.message).toBe('workload.model.hf:hidden_size: "big" is not allowed; expected a positive integer');
  });
});

describe("an invalid config", () => {
  it("reports every problem at once, each with its path", () => {
    const problems = problemsOf(() => loadScenario(fixture("invalid-many.yaml")));
    const byPath = (path: string): string[] => problems.filter((p) => p.path === path).map((p) => p.message);
    expect(byPath("cluster.gpusPerNde")).toEqual([expect.stringMatching(/^cluster\.gpusPerNde: unknown key; did you mean "gpusPerNode"\?/)]);
    expect(byPath("workload.precison")).toEqual([expect.stringMatching(/did you mean "precision"\?/)]);
    expect(byPath("cluster.network.nicBandwidth")).toEqual([
      'cluster.network.nicBandwidth: "400 Gbit/s" is not a bandwidth; use a number in bytes/s or a string like "400 Gb/s", "50 GB/s", "3.35 TB/s" (units: B/s kB/s MB/s GB/s TB/s PB/s KiB/s MiB/s GiB/s TiB/s PiB/s b/s kb/s Mb/s Gb/s Tb/s bps kbps Mbps Gbps Tbps)',
    ]);
    expect(byPath("parallelism.recompute")).toEqual(['parallelism.recompute: "sometimes" is not allowed; expected one of "none", "selective", "full", "per-op"']);
    expect(byPath("parallelism.tp")).toContain("parallelism.tp: 6 does not divide workload.heads 128");
    expect(problems.length).toBe(7);
  });

  it("names a straggler that is not a GPU of the job, or a speed outside (0, 1]", () => {
    // 2 nodes of 8: tp 8 × dp 2 = 16 GPUs, ranks 0..15.
    const problems = problemsOf(() => fromObject({ ...minimal(), cluster: { gpu: "H100-SXM", nodes: 2, stragglers: { 16: 0.5, first: 0.5, 2: 1.5 } } }));
    expect(problems.map((p) => p.message).sort()).toEqual([
      "cluster.stragglers.16: the key \"16\" is not allowed; expected a GPU rank of the job: an integer from 0 to 15 (tp·pp·dp·cp = 16 GPUs)",
      "cluster.stragglers.2: 1.5 is not allowed; expected a number > 0 and <= 1",
      "cluster.stragglers.first: the key \"first\" is not allowed; expected a GPU rank of the job: an integer from 0 to 15 (tp·pp·dp·cp = 16 GPUs)",
    ]);
  });

  it("says what is allowed for a bad integer", () => {
    const s = minimal();
    (s["cluster"] as Record<string, unknown>)["gpusPerNode"] = -2;
    const problems = problemsOf(() => fromObject(s));
    expect(problems.map((p) => p.message)).toEqual(["cluster.gpusPerNode: -2 is not allowed; expected an integer >= 1"]);
    expect(problems[0]!.value).toBe(-2);
  });

  it("reports a dp that cannot be derived without repeating it through checkPlan", () => {
    const s = minimal();
    (s["parallelism"] as Record<string, unknown>)["tp"] = 3;
    const problems = problemsOf(() => fromObject(s));
    expect(paths(problems)).toContain("parallelism.dp");
    expect(problems.find((p) => p.path === "parallelism.dp")!.message).toMatch(/2·8 = 16 GPUs are not divisible by tp·pp·cp = 3·1·1 = 3/);
    expect(paths(problems)).not.toContain("parallelism");
    expect(paths(problems)).toContain("parallelism.tp"); // 3 does not divide 32 heads
  });

  it("reports missing sections, bad roots and unknown top-level keys", () => {
    expect(paths(problemsOf(() => fromObject({})))).toEqual(["cluster", "workload"]);
    expect(paths(problemsOf(() => fromObject(null)))).toEqual(["(config)"]);
    expect(problemsOf(() => fromObject([1, 2]))[0]!.message).toMatch(/^\(config\): \[1,2\] is not allowed; expected a scenario/);
    const typo = problemsOf(() => fromObject({ ...minimal(), sede: 3 }));
    expect(typo[0]!.message).toMatch(/^sede: unknown key; did you mean "seed"\? allowed keys at the top level: /);
  });

  it("turns a YAML syntax error into one problem with its line", () => {
    const problems = problemsOf(() => loadScenario(fixture("syntax-error.yaml")));
    expect(problems).toHaveLength(1);
    expect(problems[0]!.path).toBe("(file)");
    expect(problems[0]!.message).toMatch(/^\(file\): YAML syntax error in .*syntax-error\.yaml at line \d+, column \d+: /);
  });

  it("turns a JSON syntax error into one problem with its line", () => {
    const problems = problemsOf(() => loadScenario(fixture("syntax-error.json")));
    expect(problems).toHaveLength(1);
    expect(problems[0]!.message).toMatch(/^\(file\): JSON syntax error in .*syntax-error\.json at line 4, column 3: /);
  });

  it("reports a missing file and an unsupported extension", () => {
    expect(problemsOf(() => loadScenario(fixture("nope.yaml")))[0]!.message).toMatch(/^\(file\): cannot read/);
    expect(problemsOf(() => loadScenario(fixture("scenario.toml")))[0]!.message).toMatch(/unsupported extension; use \.yaml, \.yml, \.json$/);
  });

  it("reports an empty file", () => {
    const dir = mkdtempSync(join(tmpdir(), "trainsim-empty-"));
    writeFileSync(join(dir, "empty.yml"), "# nothing yet\n");
    expect(problemsOf(() => loadScenario(join(dir, "empty.yml")))[0]!.message).toMatch(/^\(config\): the config is empty; expected a scenario/);
  });

  it("refuses to expand a YAML alias bomb", () => {
    const dir = mkdtempSync(join(tmpdir(), "trainsim-bomb-"));
    const rows = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (const [prev, cur] of [["a", "b"], ["b", "c"], ["c", "d"], ["d", "e"], ["e", "f"]]) rows.push(`${cur}: &${cur} [${Array(9).fill(`*${prev}`).join(",")}]`);
    writeFileSync(join(dir, "bomb.yaml"), rows.join("\n"));
    const problems = problemsOf(() => loadScenario(join(dir, "bomb.yaml")));
    expect(paths(problems)).toEqual(["(file)"]);
    expect(problems[0]!.message).toMatch(/cannot be expanded/);
  });

  it("formats all problems for printing", () => {
    try {
      loadScenario(fixture("invalid-many.yaml"));
    } catch (e) {
      const text = (e as ConfigError).formatProblems();
      expect(text.split("\n")[0]).toMatch(/invalid-many\.yaml: 7 problems$/);
      expect(text.split("\n").slice(1).every((line) => line.startsWith("  - "))).toBe(true);
      expect((e as ConfigError).message).toBe(text);
    }
  });
});

describe("JSON Schema export", () => {
  const schema = scenarioJsonSchema();

  it("is draft 2020-12 and plain JSON", () => {
    expect(schema["$schema"]).toBe("https://json-schema.org/draft/2020-12/schema");
    expect(JSON.parse(JSON.stringify(schema))).toEqual(schema);
    expect(schema["type"]).toBe("object");
    expect(schema["required"]).toEqual(["cluster", "workload"]);
    expect(schema["additionalProperties"]).toBe(false);
  });

  it("has a description on every property", () => {
    let checked = 0;
    const walk = (node: unknown, where: string): void => {
      if (Array.isArray(node)) {
        node.forEach((n, i) => walk(n, `${where}[${i}]`));
        return;
      }
      if (typeof node !== "object" || node === null) return;
      const o = node as Record<string, unknown>;
      if (typeof o["properties"] === "object" && o["properties"] !== null) {
        for (const [key, child] of Object.entries(o["properties"] as Record<string, unknown>)) {
          const description = (child as Record<string, unknown>)["description"];
          expect(typeof description === "string" && description.length > 0, `${where}.${key}`).toBe(true);
          checked++;
        }
      }
      for (const [key, child] of Object.entries(o)) walk(child, `${where}.${key}`);
    };
    walk(schema, "$");
    expect(checked).toBeGreaterThan(100);
  });

  it("accepts a number or a unit string for quantities", () => {
    const cluster = (schema["properties"] as Record<string, Record<string, unknown>>)["cluster"]!;
    const nic = ((cluster["properties"] as Record<string, Record<string, unknown>>)["network"]!["properties"] as Record<string, Record<string, unknown>>)["nicBandwidth"]!;
    const [asNumber, asString] = nic["anyOf"] as Record<string, unknown>[];
    expect(asNumber).toEqual({ type: "number", minimum: 1.25e8 }); // 1 Gb/s (issue 24)
    expect(asString!["type"]).toBe("string");
    const pattern = new RegExp(asString!["pattern"] as string, "u");
    expect(pattern.test("400 Gb/s")).toBe(true);
    expect(pattern.test("400 Gbit/s")).toBe(false);
    expect(nic["description"]).toMatch(/Default: the GPU's nicBandwidth/);
  });

  it("offers the catalog and built-in names as enums", () => {
    const text = JSON.stringify(schema);
    for (const name of [...Object.keys(CATALOG), ...Object.keys(BUILTIN_MODELS)]) expect(text).toContain(`"${name}"`);
  });
});
