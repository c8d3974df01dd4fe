// What the loader fuzz (fuzz.test.ts) found, each pinned by a case that failed before its fix.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../experiments/errors.ts";
import { experimentFromObject } from "../../experiments/experiment.ts";
import { scenarioFromObject } from "../../experiments/load.ts";
import { suggest } from "../../experiments/schema.ts";

const FIXTURES = join(import.meta.dirname, "../fixtures/config");
const ROOT = join(import.meta.dirname, "../..");

function scenario(extra: Record<string, unknown>): Record<string, unknown> {
  return {
    name: "finding",
    cluster: { gpu: "H100-SXM", nodes: 2 },
    workload: { model: "llama3-8b", seqLength: 2048, globalBatch: 64 },
    parallelism: { tp: 8, pp: 1 },
    ...extra,
  };
}

function problemsOf(load: () => unknown): { path: string; message: string }[] {
  try {
    load();
  } catch (e) {
    if (e instanceof ConfigError) return e.problems.map((p) => ({ path: p.path, message: p.message }));
    throw e;
  }
  throw new Error("loaded");
}

describe("fuzz findings", () => {
  it("a denormal MTBF (> 0, yet 3600 / mtbf is Infinity) is refused at its path (the schema's 1 h floor) instead of loading an infinite failure rate", () => {
    const problems = problemsOf(() => scenarioFromObject(scenario({ reliability: { failures: { gpu: { mtbf: 5e-324 } } }, run: { duration: "1 d" } }), { baseDir: FIXTURES }));
    expect(problems).toEqual([{ path: "reliability.failures.gpu.mtbf", message: "reliability.failures.gpu.mtbf: 5e-324 is not allowed; expected a duration >= 1 h" }]);
  });

  it("a list of 100,000 wrong items gives 10 problems and one that counts the rest, not 100,000", () => {
    const categories = Array.from({ length: 100_000 }, () => "nope");
    const problems = problemsOf(() => scenarioFromObject(scenario({ published: { metric: "mfu", value: 0.4, categories } }), { baseDir: FIXTURES }));
    expect(problems).toHaveLength(11);
    expect(problems[0]?.path).toBe("published.categories.0");
    expect(problems[10]).toEqual({ path: "published.categories", message: expect.stringContaining("99990 more of its 100000 items are not allowed either; expected each to be one of") });
  });

  it("typo suggestions skip candidates more than 2 characters longer or shorter (the answer is the same; a 1 MB word costs nothing)", () => {
    expect(suggest("bf61", ["bf16", "fp16", "fp8"])).toEqual(["bf16"]);
    expect(suggest("x".repeat(1_000_000), ["bf16", "fp16", "fp8"])).toEqual([]);
  });

  it("a swept or pointed value of Infinity or NaN (YAML .inf, JSON 1e400) is refused when the experiment loads; results.jsonl would write it as null", () => {
    const base = scenario({});
    const swept = problemsOf(() => experimentFromObject({ name: "e", base, sweep: { "cluster.nodes": [1, Number.POSITIVE_INFINITY] } }, { baseDir: FIXTURES }));
    expect(swept).toEqual([{ path: "sweep.cluster.nodes[1]", message: expect.stringContaining("Infinity is not allowed (results.jsonl could not record it") }]);
    const pointed = problemsOf(() => experimentFromObject({ name: "e", base, points: [{ "cluster.gpu.hbmBandwidth": { nope: Number.NaN } }] }, { baseDir: FIXTURES }));
    expect(pointed.map((p) => p.path)).toEqual(["points[0].cluster.gpu.hbmBandwidth"]);
  });

  it("a YAML mapping with a list as a key is refused as an unknown key, without a Node warning on stderr", () => {
    const dir = mkdtempSync(join(tmpdir(), "trainsim-finding-"));
    const file = join(dir, "odd.yaml");
    writeFileSync(file, "name: odd\n? [a, b]\n: 1\n");
    const r = spawnSync(process.execPath, ["--import", "tsx", "-e", `import(${JSON.stringify(join(ROOT, "experiments/load.ts"))}).then((m) => { try { m.loadScenario(${JSON.stringify(file)}) } catch (e) { console.log(e.message) } })`], { encoding: "utf8", cwd: ROOT });
    expect(r.stdout).toMatch(/\[ a, b \]|\[a, b\]|a,b/);
    expect(r.stderr).not.toMatch(/Warning/);
  });
});
