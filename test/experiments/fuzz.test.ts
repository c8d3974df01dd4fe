/**
 * Seeded random mutations of a valid scenario: loading either succeeds or throws a
 * ConfigError whose problems all name a path. Nothing else may escape.
 */
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../experiments/errors.ts";
import { scenarioFromObject } from "../../experiments/load.ts";
import { RandomStreams, type RandomStream } from "../../sim/random.ts";

const FIXTURES = fileURLToPath(new URL("../fixtures/config/", import.meta.url));
const CASES = 1500;

type Json = Record<string, unknown>;

function valid(): Json {
  return {
    name: "fuzz",
    seed: 5,
    cluster: {
      gpu: { base: "H100-SXM", hbmBandwidth: "4 TB/s", peakFlops: { bf16: "1 PFLOP/s" }, efficiency: { gemmPeakFraction: 0.7 } },
      nodes: 4,
      gpusPerNode: 8,
      network: { topology: "fat-tree", nicBandwidth: "400 Gb/s", oversubscription: 2 },
      power: { gpuPowerLimit: "600 W", facilityCap: "30 MW", pue: 1.2 },
    },
    workload: {
      model: { name: "m", layers: 8, hidden: 1024, heads: 16, kvHeads: 4, vocab: 32000, ffn: 4096, gatedMlp: true },
      seqLength: 2048,
      globalBatch: 64,
      precision: "bf16",
      attention: "flash",
    },
    parallelism: { tp: 4, pp: 2, dp: 4, microBatch: 1, zero: 1, recompute: "selective", sequenceParallel: true },
    reliability: { checkpointInterval: "30 min" },
    run: { steps: 2, duration: "1 d" },
    published: { metric: "mfu", value: 0.4 },
  };
}

const JUNK_STRINGS = ["", " ", "12 furlongs", "3 TB/s/s", "-5 W", "1e999 GB", "NaN", "Infinity", "400 gbit/s", "H100", "llama", "__proto__", "0x10", "1,000", "💥", "x".repeat(500)];
const JUNK_KEYS = ["__proto__", "constructor", "toString", "hasOwnProperty", "nodez", "tpp", "gpu", "base", "hf", "option", "value", "", "a.b", "0"];

function pick<T>(rng: RandomStream, items: readonly T[]): T {
  return items[rng.int(0, items.length)] as T;
}

function junk(rng: RandomStream, depth = 0): unknown {
  switch (rng.int(0, 12)) {
    case 0:
      return pick(rng, JUNK_STRINGS);
    case 1:
      return -rng.int(1, 1000);
    case 2:
      return pick(rng, [1e308, 2 ** 60, Number.MAX_SAFE_INTEGER + 2, 1e-300, -0, 0.5, 7.25]);
    case 3:
      return pick(rng, [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]);
    case 4:
      return pick(rng, [true, false, null, undefined]);
    case 5:
      return depth > 3 ? [] : [junk(rng, depth + 1), junk(rng, depth + 1)];
    case 6:
      return depth > 3 ? {} : { [pick(rng, JUNK_KEYS)]: junk(rng, depth + 1), nested: { deeper: junk(rng, depth + 1) } };
    case 7:
      return `${rng.int(0, 5000)} ${pick(rng, ["W", "MW", "mW", "GB", "GiB", "Gb/s", "TB/s", "ms", "min", "d", "TFLOP/s", "kWh", "b", "B", "zz"])}`;
    case 8:
      return rng.int(0, 4096);
    case 9:
      return pick(rng, ["H100-SXM", "B200", "llama3-8b", "gpt3-175b", "rail-optimized", "fp8", "full"]);
    case 10:
      return { hf: pick(rng, ["./missing.json", "llama3-8b/config.json", ""]) };
    default:
      return { base: pick(rng, ["H100-SXM", "llama3-70b", "nope", "cycle-a.yaml", "defaults-only.yaml"]) };
  }
}

/** Paths to every object and value inside `o`. */
function pathsOf(o: unknown, prefix: string[] = [], out: string[][] = []): string[][] {
  if (typeof o === "object" && o !== null && !Array.isArray(o)) {
    for (const [k, v] of Object.entries(o)) {
      out.push([...prefix, k]);
      pathsOf(v, [...prefix, k], out);
    }
  }
  return out;
}

function parentOf(root: Json, path: string[]): Json | undefined {
  let node: unknown = root;
  for (const key of path.slice(0, -1)) {
    if (typeof node !== "object" || node === null) return undefined;
    node = (node as Json)[key];
  }
  return typeof node === "object" && node !== null && !Array.isArray(node) ? (node as Json) : undefined;
}

function set(target: Json, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function mutate(rng: RandomStream): unknown {
  if (rng.uniform() < 0.02) return junk(rng);
  const root = valid();
  const count = rng.int(1, 5);
  for (let i = 0; i < count; i++) {
    const paths = pathsOf(root);
    const path = pick(rng, paths);
    const parent = parentOf(root, path);
    const key = path[path.length - 1]!;
    if (parent === undefined) continue;
    switch (rng.int(0, 4)) {
      case 0:
        delete parent[key];
        break;
      case 1:
        set(parent, key, junk(rng));
        break;
      case 2: {
        // an unknown key next to known ones, sometimes a near-typo of one
        const near = `${key.slice(0, -1)}${pick(rng, ["", "x", key.slice(-1).toUpperCase()])}`;
        set(parent, pick(rng, [...JUNK_KEYS, near]), junk(rng));
        break;
      }
      default: {
        // junk nested under a real key
        let nest: unknown = junk(rng);
        for (let d = rng.int(1, 6); d > 0; d--) nest = { [pick(rng, [key, "x", "gpu", "model"])]: nest };
        set(parent, key, nest);
      }
    }
  }
  return root;
}

function allNumbersFinite(value: unknown): boolean {
  if (typeof value === "number") return Number.isFinite(value);
  if (typeof value === "object" && value !== null) return Object.values(value).every(allNumbersFinite);
  return true;
}

describe("fuzzing scenarioFromObject", () => {
  it(`${CASES} seeded mutations load or fail with a ConfigError whose problems all have paths`, () => {
    const rng = new RandomStreams(2024).stream("config-fuzz");
    let loaded = 0;
    let rejected = 0;
    for (let i = 0; i < CASES; i++) {
      const input = mutate(rng);
      let scenario: unknown;
      try {
        scenario = scenarioFromObject(input, { baseDir: FIXTURES, name: `case-${i}` });
      } catch (e) {
        if (!(e instanceof ConfigError)) throw new Error(`case ${i}: ${String(e)} escaped for ${JSON.stringify(input)}`);
        expect(e.problems.length, `case ${i}`).toBeGreaterThan(0);
        for (const p of e.problems) {
          expect(p.path.length, `case ${i}: ${p.message}`).toBeGreaterThan(0);
          expect(p.message.startsWith(`${p.path}: `), `case ${i}: ${p.message}`).toBe(true);
          expect(p.path, `case ${i}: ${p.message}`).not.toBe("(internal)");
        }
        rejected++;
        continue;
      }
      expect(allNumbersFinite(scenario), `case ${i}`).toBe(true);
      loaded++;
    }
    expect(loaded + rejected).toBe(CASES);
    expect(loaded).toBeGreaterThan(10);
    expect(rejected).toBeGreaterThan(CASES / 2);
  });

  it("the unmutated scenario loads", () => {
    const s = scenarioFromObject(valid(), { baseDir: FIXTURES });
    expect(s.cluster.gpu.hbmBandwidth).toBe(4e12);
    expect(s.cluster.gpu.peakFlops.bf16).toBe(1e15);
    expect(s.parallelism.dp).toBe(4);
  });
});
