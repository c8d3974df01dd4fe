import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../experiments/errors.ts";
import { expandPoints, experimentFromObject } from "../../experiments/experiment.ts";
import { scenarioJsonSchema } from "../../experiments/schema.ts";
import { DOCS_COMMAND, EXPERIMENT_KEYS, SCENARIO_DOCS_FILE, scenarioDocs } from "../../experiments/schema-docs.ts";

const ROOT = join(import.meta.dirname, "../..");
const page = (): string => readFileSync(join(ROOT, SCENARIO_DOCS_FILE), "utf8");

/** Every property path of a JSON Schema (into anyOf branches; records as their own key only). */
function jsonSchemaPaths(schema: Record<string, unknown>, prefix = ""): string[] {
  const out: string[] = [];
  const props = schema["properties"] as Record<string, Record<string, unknown>> | undefined;
  for (const [name, child] of Object.entries(props ?? {})) {
    const path = prefix === "" ? name : `${prefix}.${name}`;
    out.push(path, ...jsonSchemaPaths(child, path));
  }
  for (const branch of (schema["anyOf"] as Record<string, unknown>[] | undefined) ?? []) out.push(...jsonSchemaPaths(branch, prefix));
  return out;
}

describe("docs/scenario.md", () => {
  it("is what the generator writes from the schema today", () => {
    const fresh = scenarioDocs();
    const stale = page() !== fresh;
    // The message names the command that brings the page up to date.
    expect(stale ? `${SCENARIO_DOCS_FILE} is stale: run \`${DOCS_COMMAND}\` and commit it` : "up to date").toBe("up to date");
  });

  it("names every key of the exported JSON Schema (as printed by trainsim schema), with its description", () => {
    const text = page();
    const paths = [...new Set(jsonSchemaPaths(scenarioJsonSchema()))];
    expect(paths.length).toBeGreaterThan(100);
    const aliases = ["cluster.gpu.tdp", "cluster.gpu.idlePower"];
    const missing = paths.filter((p) => !aliases.includes(p) && !text.includes(`| \`${p}\` |`));
    expect(missing).toEqual([]);
    // Aliases are told beside the key they stand for.
    expect(text).toContain("Also spelled `tdp`");
    expect(text).toContain("Also spelled `idlePower`");
  });

  it("gives units, defaults and allowed values as the schema has them", () => {
    const text = page();
    expect(text).toContain("| `cluster.network.nicBandwidth` | bandwidth (bytes/s) | the GPU's nicBandwidth | a bandwidth >= 125 MB/s |");
    expect(text).toContain("| `cluster.power.controllerInterval` | duration (seconds) | `100 ms` | a duration >= 1 ms |");
    expect(text).toContain("| `parallelism.zero` | integer | `1` | an integer from 0 to 3 |");
    expect(text).toContain("| `parallelism.recompute` | string | `\"none\"` | `none`, `selective`, `full`, `per-op` |");
    expect(text).toContain("| `workload.model.hf` | string | required |");
    expect(text).toContain("- `unexpectedInterruptions`: unexpected job interruptions over the run");
  });
});

describe("experiment keys in docs/scenario.md", () => {
  const FIXTURES = join(ROOT, "test/fixtures/sweep");
  const base = {
    cluster: { gpu: "H100-SXM", nodes: 1 },
    workload: { model: "llama3-8b", seqLength: 2048, globalBatch: 32 },
    parallelism: { tp: 2 },
  };
  const problems = (input: Record<string, unknown>): string[] => {
    try {
      experimentFromObject(input, { baseDir: FIXTURES, file: "t.yaml" });
      return [];
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      return e.problems.map((p) => p.message);
    }
  };

  it("documents each top-level key the loader accepts, and the loader accepts each documented key", () => {
    const documented = EXPERIMENT_KEYS.map((k) => k.path).filter((p) => !p.includes("."));
    // An experiment using every documented key at once is valid...
    const full = {
      name: "every-key",
      description: "all documented keys",
      base,
      sweep: { "parallelism.microBatch": [1, 2] },
      zip: [{ "cluster.nodes": [1, 2], "workload.globalBatch": [32, 64] }],
      points: [{ "parallelism.recompute": "none" }, { "parallelism.recompute": "full" }],
      random: { samples: 2, seed: 3, axes: { "cluster.network.nicBandwidth": { min: "100 Gb/s", max: "800 Gb/s", log: true }, "workload.precision": { choices: ["bf16", "fp16"] } } },
      seeds: [1, 2],
      reports: ["bottleneck-shift"],
    };
    expect(Object.keys(full).sort()).toEqual([...documented].sort());
    expect(problems(full)).toEqual([]);
    const exp = experimentFromObject(full, { baseDir: FIXTURES, file: "t.yaml" });
    expect(expandPoints(exp).length).toBe(2 * 2 * 2 * 2 * 2);
    // ...and the loader's own list of allowed keys (in its message for an unknown one) is exactly the documented one.
    const message = problems({ base, nonsense: 1 }).join("\n");
    const allowed = /allowed keys in an experiment: (.*)$/m.exec(message)?.[1]?.split(", ") ?? [];
    expect(allowed.sort()).toEqual([...documented].sort());
    const randomMessage = problems({ base, random: { samples: 1, axes: { "cluster.nodes": { min: 1, max: 2 } }, nonsense: 1 } }).join("\n");
    const randomAllowed = /allowed keys in random: (.*)$/m.exec(randomMessage)?.[1]?.split(", ") ?? [];
    expect(randomAllowed.sort()).toEqual(EXPERIMENT_KEYS.map((k) => k.path).filter((p) => /^random\.[a-z]+$/.test(p)).map((p) => p.slice(7)).sort());
  });

  it("documents exactly the axis keys a random axis takes", () => {
    const axisKeys = EXPERIMENT_KEYS.map((k) => k.path).filter((p) => p.startsWith("random.axes.<path>.")).map((p) => p.slice("random.axes.<path>.".length));
    expect(axisKeys.sort()).toEqual(["choices", "log", "max", "min"]);
    const message = problems({ base, random: { samples: 1, axes: { "cluster.nodes": { min: 1, max: 2, nonsense: 1 } } } }).join("\n");
    expect(message).toMatch(/allowed keys in a range axis: min, max, log/);
  });
});
