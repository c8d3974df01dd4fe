import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

// Every field the commands print with --json must be documented in docs/results.md, in the
// section of that command. The commands run for real (the CLI, as users run it), on small
// inputs that switch on the optional fields.

const ROOT = join(import.meta.dirname, "../..");
const BIN = join(ROOT, "bin/trainsim.js");
const TMP = mkdtempSync(join(tmpdir(), "trainsim-results-docs-"));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

function trainsim(...args: string[]): unknown {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: "utf8", timeout: 180_000 });
  if (r.status !== 0) throw new Error(`trainsim ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as unknown;
}

/** Field paths of a JSON value: objects by key, arrays by their elements' keys ("a[].b"). */
function fieldPaths(value: unknown, prefix = "", out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    if (value.length === 0 || value.some((e) => e === null || typeof e !== "object")) out.add(`${prefix}[]`);
    for (const e of value) fieldPaths(e, `${prefix}[]`, out);
  } else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) fieldPaths(v, prefix === "" ? k : `${prefix}.${k}`, out);
  } else if (prefix !== "") out.add(prefix);
  return out;
}

/** The documented field patterns per section ("## run" → ["name", "gpus", ...]). */
function documented(): Map<string, RegExp[]> {
  const text = readFileSync(join(ROOT, "docs/results.md"), "utf8");
  const sections = new Map<string, RegExp[]>();
  for (const part of text.split(/^## /m).slice(1)) {
    const name = part.slice(0, part.indexOf("\n")).trim();
    const patterns: RegExp[] = [];
    for (const m of part.matchAll(/^\| `([^`]+)` \|/gm)) {
      const field = m[1] as string;
      // <name> is one key; a trailing .* is everything below; [] is literal.
      const source = field
        .split(/(<[^>]+>|\.\*$)/)
        .map((piece) => (piece === ".*" ? "(\\..+)?" : piece.startsWith("<") ? "[^.]+" : piece.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
        .join("");
      patterns.push(new RegExp(`^${source}$`));
    }
    sections.set(name, patterns);
  }
  return sections;
}

function undocumented(section: string, paths: Iterable<string>): string[] {
  const patterns = documented().get(section);
  if (patterns === undefined) throw new Error(`docs/results.md has no section "## ${section}"`);
  return [...paths].filter((p) => !patterns.some((re) => re.test(p)) && !patterns.some((re) => re.test(p.replace(/\[\]$/, ""))));
}

const SCENARIO = `
name: docs-rich
cluster:
  gpu: H100-SXM
  nodes: 2
  power: { gpuPowerLimit: 600 W, facilityCap: 12 kW, pricePerKWh: 0.1, carbonGramsPerKWh: 400, stagger: { groups: 2, offset: 10 ms }, storage: { capacity: 1 MJ, power: 5 kW } }
workload: { model: llama3-8b, seqLength: 2048, globalBatch: 16 }
parallelism: { tp: 8, pp: 2 }
reliability: { storageBandwidth: 100 GB/s, checkpointMode: async }
data: { storage: { readBandwidth: 100 GB/s }, sharedWithCheckpoints: true }
run: { tokens: 1e9 }
`;

describe("docs/results.md documents every --json field", () => {
  it("run (a long run with caps, stagger, storage, cost and emissions) and run --full", () => {
    const file = join(TMP, "rich.yaml");
    writeFileSync(file, SCENARIO);
    const rich = fieldPaths(trainsim("run", file, "--json", "--no-report"));
    for (const p of ["power.costPerStep", "power.storage.minChargeJoules", "power.stagger.stepSecondsAdded", "longRun.timeToTrainSeconds", "roofline.kernels[].bound", "data.duringCheckpoint.addedSecondsPerCheckpoint", "longRun.checkpointWrite.dataShare"]) expect(rich).toContain(p);
    expect(undocumented("run", rich)).toEqual([]);
    const full = fieldPaths(trainsim("run", join(ROOT, "test/fixtures/sweep/small-base.yaml"), "--json", "--no-report", "--full"));
    expect(undocumented("run", full)).toEqual([]);
    const moeFile = join(TMP, "moe.yaml");
    writeFileSync(moeFile, "name: docs-moe\ncluster: { gpu: H100-SXM, nodes: 2 }\nworkload: { model: mixtral-8x7b, seqLength: 1024, globalBatch: 16, moe: { capacityFactor: 1.25, padToCapacity: true } }\nparallelism: { tp: 2, pp: 2, ep: 4 }\n");
    const moe = fieldPaths(trainsim("run", moeFile, "--json", "--no-report"));
    for (const p of ["moeRouting.distribution", "moeRouting.capacityFactor", "moeRouting.padToCapacity", "moeRouting.busiestRankLoad", "moeRouting.keptShare"]) expect(moe).toContain(p);
    expect(undocumented("run", moe)).toEqual([]);
    const banded = fieldPaths(trainsim("run", join(ROOT, "test/fixtures/sweep/small-base.yaml"), "--json", "--no-report", "--uncertainty", "10"));
    for (const p of ["uncertainty.stepSeconds.p95", "uncertainty.sensitivity[].highStepSeconds", "uncertainty.constants[].source"]) expect(banded).toContain(p);
    expect(undocumented("run", banded)).toEqual([]);
  });

  it("sweep, its results.jsonl and sweep.json, and merge", () => {
    // Three points, one of them invalid (tp 3 does not divide the heads), the power series kept.
    const experiment = join(TMP, "experiment.yaml");
    writeFileSync(experiment, `name: docs-sweep\ndescription: three points\nbase: ${join(ROOT, "test/fixtures/sweep/small.yaml")}\nsweep:\n  parallelism.tp: [1, 2, 3]\nreports: [power]\n`);
    const out = join(TMP, "sweep");
    const summary = fieldPaths(trainsim("sweep", experiment, "--out", out, "--json", "--workers", "1"));
    expect(summary).toContain("files.jsonl");
    expect(undocumented("sweep", summary)).toEqual([]);
    const lines = readFileSync(join(out, "results.jsonl"), "utf8").trim().split("\n");
    const line = new Set<string>();
    const result = new Set<string>();
    for (const l of lines) {
      for (const p of fieldPaths(JSON.parse(l))) {
        if (p.startsWith("result.")) result.add(p.slice("result.".length));
        else line.add(p.startsWith("params.") ? "params.x" : p);
      }
    }
    expect(result.size).toBeGreaterThan(50);
    expect(line).toContain("error");
    expect(undocumented("results.jsonl", line)).toEqual([]);
    expect(undocumented("run", result)).toEqual([]);
    expect(undocumented("sweep.json", fieldPaths(JSON.parse(readFileSync(join(out, "sweep.json"), "utf8"))))).toEqual([]);
    const sharded = join(TMP, "sharded");
    trainsim("sweep", experiment, "--out", sharded, "--json", "--workers", "1", "--shard", "0/2", "--no-report");
    const merged = fieldPaths(trainsim("merge", sharded, "--out", join(TMP, "merged"), "--json", "--allow-partial", "--no-report"));
    expect(merged).toContain("missingByShard.1[]");
    expect(undocumented("merge", merged)).toEqual([]);
    expect(undocumented("sweep.json", fieldPaths(JSON.parse(readFileSync(join(TMP, "merged", "sweep.json"), "utf8"))))).toEqual([]);
  });

  it("cluster (a comparison under a facility cap with a modelled job; a trace with a rejected job)", () => {
    const file = join(TMP, "cluster.yaml");
    writeFileSync(
      file,
      `name: docs-cluster
description: two placements
cluster: { gpu: H100-SXM, nodes: 4, network: { topology: fat-tree }, power: { facilityCap: 40 kW } }
scheduler: { policy: backfill }
compare: [packed, spread]
jobs:
  - { name: a, gpus: 16, stepSeconds: 1 s, steps: 100 }
  - { name: m, arrival: 10 s, gpus: 8, workload: { model: llama3-8b, seqLength: 2048, globalBatch: 16 }, parallelism: { tp: 8 }, steps: 5, data: { storage: ddn-ai400x2t, kind: image, bytesPerItem: 1 MB, decodeCoreSeconds: 1 ms } }
`,
    );
    const paths = fieldPaths(trainsim("cluster", file, "--json", "--no-report"));
    for (const p of ["runs[].summary.facilityCapWatts", "compared", "description", "runs[].jobs[].storage.slowedShare"]) expect(paths).toContain(p);
    expect(undocumented("cluster", paths)).toEqual([]);
    // A trace whose second job is bigger than the cluster: it is rejected, with a reason.
    writeFileSync(join(TMP, "jobs.csv"), "submit,gpus,duration\n0,8,600\n60,1024,600\n");
    writeFileSync(join(TMP, "trace.yaml"), `name: docs-trace\ncluster: { gpu: H100-SXM, nodes: 2 }\ntrace: { csv: jobs.csv, submitTime: submit, gpus: gpus, duration: duration }\n`);
    const trace = fieldPaths(trainsim("cluster", join(TMP, "trace.yaml"), "--json", "--no-report"));
    expect(trace).toContain("runs[].jobs[].reason");
    expect(undocumented("cluster", trace)).toEqual([]);
  });

  it("validate, collective and catalog", () => {
    expect(undocumented("validate", fieldPaths(trainsim("validate", "--only", "gpt-1.7b", "--json")))).toEqual([]);
    expect(undocumented("collective", fieldPaths(trainsim("collective", "--nodes", "2", "-b", "1M", "-e", "2M", "--json")))).toEqual([]);
    expect(undocumented("catalog", fieldPaths(trainsim("catalog", "--json")))).toEqual([]);
  });

  it("the check itself finds a field that is not documented", () => {
    expect(undocumented("run", ["stepSeconds", "power.swings[].dropWatts", "roofline.kernels[].nonsense", "notAField"])).toEqual(["roofline.kernels[].nonsense", "notAField"]);
    expect(undocumented("catalog", ["accelerators.H100-SXM.sources.hbmBytes", "presets.x.cluster.gpu", "presets.x.other"])).toEqual(["presets.x.other"]);
  });
});
