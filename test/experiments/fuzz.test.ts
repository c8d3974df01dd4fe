/**
 * Seeded fuzzing of the config loaders (issue 24's floor): every case either loads or fails
 * with a ConfigError whose problems all name a field; nothing else may escape (a TypeError,
 * a RangeError from a blown stack, an "(internal)" problem), and nothing may hang.
 *
 * The cases come from a table of generators, one entry per class of hostile input, so a new
 * class is one line. All in-process (YAML text goes through a temporary file and the real
 * reader), seeded by sim/random.ts, so the same cases run every time.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { stringify as toYaml } from "yaml";
import { ConfigError } from "../../experiments/errors.ts";
import { experimentFromObject, pointCount } from "../../experiments/experiment.ts";
import { loadScenario, scenarioFromObject } from "../../experiments/load.ts";
import { folderNameProblem, outputFolderProblem } from "../../experiments/output-folder.ts";
import { scenarioSchema, type SchemaNode } from "../../experiments/schema.ts";
import { workProblem } from "../../experiments/work-limits.ts";
import { runScenario } from "../../models/run.ts";
import { outOfMemory } from "../../models/workload/memory.ts";
import { RandomStreams, type RandomStream } from "../../sim/random.ts";

const FIXTURES = fileURLToPath(new URL("../fixtures/config/", import.meta.url));

type Json = Record<string, unknown>;

/** What one case feeds to which loader. */
type FuzzInput =
  | { kind: "scenario"; value: unknown }
  | { kind: "experiment"; value: unknown }
  /** Text written to a file and read by loadScenario (the YAML/JSON reader, base: files, everything). */
  | { kind: "file"; text: string; ext: ".yaml" | ".json" }
  /** A value given as --out or as a name that becomes out/<name>: the checks answer, never throw. */
  | { kind: "out"; value: string }
  /** A scenario loaded and, when it loads, simulated for one step: finite results or a ConfigError. */
  | { kind: "simulate"; value: unknown };

interface FuzzClass {
  name: string;
  cases: number;
  make: (rng: RandomStream) => FuzzInput;
}

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

function validExperiment(): Json {
  return { name: "fuzz-exp", description: "d", base: valid(), sweep: { "cluster.nodes": [2, 4], "workload.seqLength": [1024, 2048] }, seeds: [1, 2], reports: ["bottleneck-shift"] };
}

function pick<T>(rng: RandomStream, items: readonly T[]): T {
  return items[rng.int(0, items.length)] as T;
}

// ---------------------------------------------------------------------------
// The schema's fields, so that every class reaches every field

interface Field {
  path: string[];
  node: SchemaNode;
}

/** Every field under the scenario's objects (through the object options of unions), with its node. */
function fieldsOf(node: SchemaNode, prefix: string[] = [], out: Field[] = []): Field[] {
  const objects = node.kind === "object" ? [node] : node.kind === "union" ? node.options.map((o) => o.node).filter((n) => n.kind === "object") : [];
  for (const o of objects) {
    if (o.kind !== "object") continue;
    for (const [key, child] of Object.entries(o.fields)) {
      const path = [...prefix, key];
      out.push({ path, node: child });
      fieldsOf(child, path, out);
    }
  }
  return out;
}

const FIELDS = fieldsOf(scenarioSchema);
const kindIs = (...kinds: SchemaNode["kind"][]) => FIELDS.filter((f) => kinds.includes(f.node.kind) || (f.node.kind === "union" && f.node.options.some((o) => kinds.includes(o.node.kind))));
const STRING_FIELDS = kindIs("string", "enum");
const NUMERIC_FIELDS = kindIs("int", "number", "quantity");
const LIST_FIELDS = kindIs("list", "record");

/** `root` with `value` at `path`, creating (or replacing non-object) parents on the way. */
function withValue(root: Json, path: readonly string[], value: unknown): Json {
  let node: Json = root;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== "object" || next === null || Array.isArray(next)) set(node, key, {});
    node = node[key] as Json;
  }
  set(node, path[path.length - 1] as string, value);
  return root;
}

function set(target: Json, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

// ---------------------------------------------------------------------------
// Hostile values

/** Terminal escapes, bidi overrides, line separators, NUL, lone surrogates, and ordinary text to mix them into. */
const CONTROL_PIECES = [
  "\u0000", "\u0007", "\b", "\t", "\n", "\r", "\u000b", "\u000c", "\u001b", "\u007f", "\u0085", "\u009b",
  "\u001b]0;owned\u0007", "\u001b[2J", "\u001b[31m", "\u001bP+q\u001b\\", "\u001b]8;;http://x\u001b\\link\u001b]8;;\u001b\\",
  "\u202e", "\u202d", "\u2066", "\u2067", "\u2068", "\u2069", "\u200e", "\u200f", "\u061c", "\u200b", "\ufeff",
  "\u2028", "\u2029", "\ud800", "\udfff", "\ufffd", "\uffff", "名前", "🦙", "e\u0301", "ﬃ",
  "H100-SXM", "bf16", "fat-tree", "llama3-8b", "4 TB/s", "x", " ", "'", "\"", "`", "${x}", "{{x}}", "%s%n", "<script>", "&amp;", "\\",
];

function controlString(rng: RandomStream, seed?: string): string {
  const parts: string[] = seed === undefined ? [] : [seed];
  for (let n = rng.int(1, 6); n > 0; n--) {
    const piece = pick(rng, CONTROL_PIECES);
    if (rng.uniform() < 0.5) parts.push(piece);
    else parts.splice(rng.int(0, parts.length + 1), 0, piece);
  }
  return parts.join("");
}

/** Path-like values for names, base:, hf: and --out: traversal, absolute, NUL, very long, unicode, control characters. */
const PATH_PIECES = [
  "..", ".", "", "/", "//", "\\", "a", "out", "../../escaped", "a/../../b", "/tmp", "~", "$HOME", "-rf", "--out", "CON", "nul", "file:",
  "\u0000", "a\u0000b", "\n", "\u001b[2J", "\u202e", "\u2028", "名前", "é".repeat(200), "🦙".repeat(70), "x".repeat(255), "x".repeat(256), "y".repeat(4097),
  "child.yaml", "cycle-a.yaml", "sub", "missing.yaml", "llama3-8b/config.json", "x.json", "x.yml", "x.YAML", ".yaml",
];

function pathLike(rng: RandomStream): string {
  const parts: string[] = [];
  for (let n = rng.int(1, 5); n > 0; n--) parts.push(pick(rng, PATH_PIECES));
  return parts.join(rng.uniform() < 0.8 ? "/" : "");
}

const HUGE_NUMBERS: unknown[] = [
  1e308, -1e308, Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, -0, 0, -1, 0.5, 1e-320, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 2, 2 ** 64, 1e21, 1e100,
  Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN,
  "1e400", "-1e400", "1e-400", "-0", "+0", "NaN", "nan", "Infinity", "-Infinity", "inf", ".inf", "0x1F", "0b101", "0o17", "1_000", "1,000", "1e", "e5", "--1", "1..2",
  "9".repeat(400), `0.${"0".repeat(400)}1`, "1e999999", "-1e-999999", "1e308e308",
];
const UNITS = ["", " ", "B", "GB", "GiB", "PB", "EB", "b/s", "Gb/s", "TB/s", "PB/s", "W", "kW", "MW", "GW", "s", "ms", "ns", "min", "h", "d", "FLOP/s", "TFLOP/s", "PFLOP/s", "EFLOP/s", "J", "kWh", "%", "x", "zz"];

function hugeNumber(rng: RandomStream): unknown {
  const n = pick(rng, HUGE_NUMBERS);
  if (rng.uniform() < 0.5) return n;
  return `${typeof n === "number" ? String(n) : String(n)}${pick(rng, UNITS) === "" ? "" : ` ${pick(rng, UNITS)}`}`;
}

const WRONG_TYPES: unknown[] = [[], {}, [1, 2], [[[]]], { a: 1 }, { base: "H100-SXM" }, { hf: "x.json" }, true, false, null, "", " ", "text", 0, 1, -1, 1.5, ["H100-SXM"], [{}], { __proto__: { polluted: true } }];

const JUNK_STRINGS = ["", " ", "12 furlongs", "3 TB/s/s", "-5 W", "1e999 GB", "NaN", "Infinity", "400 gbit/s", "H100", "llama", "__proto__", "0x10", "1,000", "💥", "x".repeat(500)];
const JUNK_KEYS = ["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf", "prototype", "nodez", "tpp", "gpu", "base", "hf", "option", "value", "", "a.b", "0", "\u202ename", "name\u0000", "名前", "x".repeat(300)];

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

/** One to four random edits of the valid scenario: delete a key, junk a value, add an unknown key, nest junk. */
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

/** `value` nested `depth` levels deep in objects or lists. */
function nested(depth: number, list: boolean, value: unknown = 1): unknown {
  let v = value;
  for (let i = 0; i < depth; i++) v = list ? [v] : { a: v };
  return v;
}

// ---------------------------------------------------------------------------
// YAML and JSON text

/** Odd but possible YAML: tags, anchors, merge keys, complex keys, special scalars, several documents. */
const ODD_YAML = [
  "", "---", "...", "# only a comment", "~", "null", "[]", "42", "\"just a string\"", "--- 1\n--- 2", "name: a\n---\nname: b",
  "name: !!binary aGVsbG8=", "seed: !!float 1e400", "seed: !!int 0x7fffffffffffffffff", "name: !!timestamp 2001-12-14t21:59:43.10-05:00",
  "cluster: !!set {a, b}", "seed: !!js/undefined ''", "name: !custom x", "!!map {name: x}", "name: !!str", "seed: !<tag:yaml.org,2002:int> 3",
  "seed: .inf", "seed: -.inf", "seed: .nan", "seed: 0o777", "seed: 0x_ff", "seed: 1e400", "seed: -0", "seed: 1_000", "seed: yes", "seed: on", "seed: 12:30:00",
  "? [a, b]\n: 1", "{[1, 2]: 3}", "? {a: 1}\n: x", "cluster: {? nodes : 2}", "null: 1", "~: 1", "1: 2", "true: false",
  "name: a\nname: b", "cluster: {nodes: 1, nodes: 2}",
  "cluster: &c {nodes: 2}\nworkload: *c", "base: &b x\nname: *b", "cluster:\n  <<: {nodes: 2}\n  gpu: H100-SXM", "a: &a [*a]", "name: *nowhere",
  "a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]",
  "name: \"\\u0000\\u001b[2J\\u202e\"", "name: \"\\ud800\"", "name: 'a\u2028b'", "name: a\u0085b", "name: \u001b]0;x\u0007", "na\u0000me: x", "name: |\n  a\n\tb",
  "\ufeffname: bom", "name: crlf\r\nseed: 2\r\n", "name:\tx", "\tname: x", "name: [", "name: {", "name: 'unterminated", "- a\n b: c", "a:\n- b\n  c: d",
  "%YAML 1.1\n---\nseed: 010", "%TAG ! tag:example.com,2000:\n---\nname: !x y", "%YAML 9.9\n---\nname: x",
];

/** JSON texts the JSON reader must answer: huge numbers (1e400 parses to Infinity), BOM, NaN, comments, trailing commas. */
const ODD_JSON = [
  "", "{", "[]", "null", "1e400", "{\"seed\": 1e400}", "{\"seed\": -1e400}", "{\"seed\": 1e-400}", "{\"seed\": -0}", "{\"seed\": NaN}", "{\"seed\": 1,}", "// c\n{}", "\ufeff{\"name\": \"bom\"}",
  "{\"name\": \"\\u0000\\u202e\\u2028\"}", "{\"name\": \"\\ud800\"}", "{\"__proto__\": {\"seed\": 3}}", "{\"name\": \"a\", \"name\": \"b\"}", "{\"cluster\": {\"nodes\": 1e400}}",
];

function deepYaml(rng: RandomStream): string {
  const depth = pick(rng, [50, 200, 1000, 5000]);
  switch (rng.int(0, 4)) {
    case 0:
      return `name: ${"[".repeat(depth)}${"]".repeat(depth)}`;
    case 1:
      return `cluster: ${"{a: ".repeat(depth)}1${"}".repeat(depth)}`;
    case 2:
      return Array.from({ length: Math.min(depth, 2000) }, (_, i) => `${"  ".repeat(i)}k${i}:`).join("\n") + " 1";
    default:
      return Array.from({ length: Math.min(depth, 2000) }, (_, i) => `${"  ".repeat(i)}-`).join("\n") + " 1";
  }
}

/** The valid scenario as YAML with a few characters inserted, deleted or repeated. */
function garbledYaml(rng: RandomStream): string {
  let text = toYaml(valid());
  for (let n = rng.int(1, 4); n > 0; n--) {
    const at = rng.int(0, text.length);
    const len = rng.int(1, 20);
    switch (rng.int(0, 3)) {
      case 0:
        text = text.slice(0, at) + pick(rng, [":", "-", "&", "*", "!", "|", ">", "?", "%", "@", "`", "#", "{", "}", "[", "]", "'", "\"", "\t", "\n", " ", "\u0000", "\u2028", "\ufeff", "\u202e", "\u001b"]) + text.slice(at);
        break;
      case 1:
        text = text.slice(0, at) + text.slice(at + len);
        break;
      default:
        text = text.slice(0, at) + text.slice(at, at + len).repeat(rng.int(2, 5)) + text.slice(at);
    }
  }
  return text;
}

// ---------------------------------------------------------------------------
/** A small HuggingFace config.json with one field replaced by a hostile value, written raw (1e400, NaN, escapes). */
const HF_BASE: Record<string, string> = {
  hidden_size: "1024",
  num_hidden_layers: "4",
  num_attention_heads: "16",
  num_key_value_heads: "4",
  intermediate_size: "4096",
  vocab_size: "32000",
  max_position_embeddings: "4096",
  hidden_act: '"silu"',
  rope_theta: "10000",
  tie_word_embeddings: "false",
  attention_dropout: "0.0",
  num_local_experts: "8",
  num_experts_per_tok: "2",
  kv_lora_rank: "null",
  sliding_window: "null",
  n_shared_experts: "null",
  first_k_dense_replace: "null",
};
const HF_HOSTILE = ['"lots"', "{}", "[]", "null", "-1", "0", "1e400", "-1e400", "1.5", "true", '"\\u001b[2J"', "9007199254740993", '"1e3"', '{"__proto__": 1}', "1e-320"];
let hfFiles = 0;
function hostileHfConfig(rng: RandomStream): string {
  const fields = { ...HF_BASE, [pick(rng, Object.keys(HF_BASE))]: pick(rng, HF_HOSTILE) };
  const file = join(TEXT_DIR, `hf-${hfFiles++}.json`);
  writeFileSync(file, `{${Object.entries(fields).map(([k, v]) => `"${k}": ${v}`).join(", ")}}`);
  return file;
}

/** Bandwidth and rate fields (quantities per second) and values below any sane bound. */
const RATE_FIELDS = NUMERIC_FIELDS.filter((f) => /andwidth|peakFlops|Rate/.test(f.path.join(".")));
const SIZE_PATHS = [["cluster", "nodes"], ["cluster", "gpusPerNode"], ["workload", "globalBatch"], ["workload", "model", "layers"], ["workload", "seqLength"]];

const TEXT_DIR = mkdtempSync(join(tmpdir(), "trainsim-fuzz-"));

const CLASSES: FuzzClass[] = [
  { name: "random edits of a valid scenario", cases: 1500, make: (rng) => ({ kind: "scenario", value: mutate(rng) }) },
  {
    name: "control characters and bidi marks in every string field",
    cases: 800,
    make: (rng) => {
      const f = pick(rng, STRING_FIELDS);
      return { kind: "scenario", value: withValue(valid(), f.path, controlString(rng, rng.uniform() < 0.5 && f.node.kind === "enum" ? f.node.values[0] : undefined)) };
    },
  },
  {
    name: "huge, tiny, negative and not-a-number values in every numeric field",
    cases: 800,
    make: (rng) => {
      let root = valid();
      for (let n = rng.int(1, 3); n > 0; n--) root = withValue(root, pick(rng, NUMERIC_FIELDS).path, hugeNumber(rng));
      return { kind: "scenario", value: root };
    },
  },
  { name: "wrong types in every field", cases: 600, make: (rng) => ({ kind: "scenario", value: withValue(valid(), pick(rng, FIELDS).path, pick(rng, WRONG_TYPES)) }) },
  {
    name: "path-like names, base: and hf: (.., /, NUL, very long, unicode, control characters)",
    cases: 400,
    make: (rng) => {
      const path = pick(rng, [["name"], ["base"], ["workload", "model", "hf"], ["cluster", "gpu", "name"], ["workload", "model", "name"]]);
      return { kind: "scenario", value: withValue(valid(), path, pathLike(rng)) };
    },
  },
  { name: "--out values and names that become out/<name>", cases: 300, make: (rng) => ({ kind: "out", value: pathLike(rng) }) },
  {
    name: "sizes: huge lists, long strings and keys, deep nesting",
    cases: 120,
    make: (rng) => {
      const big = pick(rng, [1e3, 1e4, 1e5]);
      switch (rng.int(0, 5)) {
        case 0:
          return { kind: "scenario", value: withValue(valid(), pick(rng, LIST_FIELDS).path, Array.from({ length: big }, () => pick(rng, ["fp8", 1, { gpus: [0], speed: 0.5 }, null]))) };
        case 1:
          return { kind: "scenario", value: withValue(valid(), pick(rng, STRING_FIELDS).path, "x".repeat(big * 10)) };
        case 2:
          return { kind: "scenario", value: withValue(valid(), pick(rng, FIELDS).path.slice(0, -1).concat("k".repeat(big)), 1) };
        case 3:
          return { kind: "scenario", value: withValue(valid(), pick(rng, FIELDS).path, nested(pick(rng, [100, 1000, 5000]), rng.uniform() < 0.5)) };
        default:
          return { kind: "scenario", value: withValue(valid(), ["cluster", "extra"], Object.fromEntries(Array.from({ length: big }, (_, i) => [`k${i}`, i]))) };
      }
    },
  },
  {
    name: "odd and damaged YAML and JSON text",
    cases: 500,
    make: (rng) => {
      const r = rng.uniform();
      if (r < 0.4) return { kind: "file", ext: ".yaml", text: pick(rng, ODD_YAML) };
      if (r < 0.6) return { kind: "file", ext: ".json", text: pick(rng, ODD_JSON) };
      return { kind: "file", ext: ".yaml", text: garbledYaml(rng) };
    },
  },
  { name: "deeply nested YAML", cases: 30, make: (rng) => ({ kind: "file", ext: ".yaml", text: deepYaml(rng) }) },
  {
    name: "experiments: hostile names, sweep paths and values, seeds, lists",
    cases: 300,
    make: (rng) => {
      const e = validExperiment();
      switch (rng.int(0, 6)) {
        case 0:
          return { kind: "experiment", value: withValue(e, ["name"], rng.uniform() < 0.5 ? pathLike(rng) : controlString(rng)) };
        case 1:
          return { kind: "experiment", value: withValue(e, ["sweep"], { [pick(rng, [...JUNK_KEYS, "cluster..nodes", ".cluster", "cluster.", pathLike(rng), controlString(rng)])]: [1, 2] }) };
        case 2:
          return { kind: "experiment", value: withValue(e, ["sweep", pick(rng, NUMERIC_FIELDS).path.join(".")], Array.from({ length: rng.int(1, 4) }, () => hugeNumber(rng))) };
        case 3:
          return { kind: "experiment", value: withValue(e, ["seeds"], pick(rng, [[1e400], [-1], [1.5], ["1"], [], Array.from({ length: 1e4 }, (_, i) => i), [2 ** 53 + 2], Number.NaN])) };
        case 4:
          return { kind: "experiment", value: withValue(e, [pick(rng, ["zip", "points", "random", "reports", "base", "description"])], pick(rng, [...WRONG_TYPES, junk(rng), controlString(rng)])) };
        default:
          return { kind: "experiment", value: withValue(e, ["sweep", "cluster.nodes"], Array.from({ length: pick(rng, [0, 1, 1e3, 1e5]) }, (_, i) => i + 1)) };
      }
    },
  },
  {
    name: "special files as base: and hf:",
    cases: 20,
    make: (rng) => ({ kind: "file", ext: ".yaml", text: pick(rng, ["base: /dev/zero", "base: /dev/zero.yaml", "base: /dev/urandom", "base: /proc/self/mem", "base: /", "workload: {model: {hf: /dev/zero}}", "workload: {model: {hf: /dev/urandom}}", "workload: {model: {hf: /}}"]) }),
  },
  { name: "files over the 16 MiB limit", cases: 3, make: (rng) => ({ kind: "file", ext: ".yaml", text: `description: ${"x".repeat(rng.int(17, 40) * 2 ** 20)}` }) },
  {
    name: "degenerate rates and huge sizes, simulated when they load",
    cases: 100,
    make: (rng) =>
      rng.uniform() < 0.7
        ? { kind: "simulate", value: withValue(valid(), pick(rng, RATE_FIELDS).path, pick(rng, ["1 b/s", "1e-300 TB/s", "1e-9 TB/s", "100 kb/s", "1e-300 FLOP/s", 1e-300])) }
        : { kind: "simulate", value: withValue(valid(), pick(rng, SIZE_PATHS), pick(rng, [8e8, 1e9, 1e12])) },
  },
  { name: "hostile HuggingFace config.json fields", cases: 150, make: (rng) => ({ kind: "scenario", value: withValue(valid(), ["workload", "model"], { hf: hostileHfConfig(rng) }) }) },
];

// ---------------------------------------------------------------------------
// Running a case

/** Where a loaded config holds a number that is not finite (NaN, ±Infinity), or undefined. */
function nonFinite(value: unknown, path = "", seen = new Set<unknown>()): string | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? undefined : `${path} = ${value}`;
  if (typeof value === "object" && value !== null) {
    if (seen.has(value)) return undefined;
    seen.add(value);
    for (const [k, v] of Object.entries(value)) {
      const found = nonFinite(v, `${path}.${k}`, seen);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/** Runs one case; returns "loaded" or "refused", or throws (with the case's name) for anything else. */
function runCase(input: FuzzInput, label: string): "loaded" | "refused" {
  if (input.kind === "out") {
    for (const answer of [folderNameProblem(input.value), outputFolderProblem(input.value)]) {
      if (answer !== undefined && (typeof answer !== "string" || answer === "")) throw new Error(`${label}: ${String(answer)}`);
    }
    return folderNameProblem(input.value) === undefined ? "loaded" : "refused";
  }
  let loaded: unknown;
  try {
    if (input.kind === "scenario") loaded = scenarioFromObject(input.value, { baseDir: FIXTURES, name: "fuzz-case" });
    else if (input.kind === "simulate") {
      // As the CLI: the work estimate and the memory check answer before anything simulates.
      const s = scenarioFromObject(input.value, { baseDir: FIXTURES, name: "fuzz-case" });
      if (workProblem(s) !== null || outOfMemory(s) !== null) return "refused";
      const { result } = runScenario(s);
      expect(result.stepSeconds, label).toBeGreaterThan(0);
      loaded = result;
    }
    else if (input.kind === "experiment") {
      const exp = experimentFromObject(input.value, { baseDir: FIXTURES, name: "fuzz-case" });
      expect(pointCount(exp), label).toBeGreaterThanOrEqual(0);
      loaded = exp;
    } else {
      const file = join(TEXT_DIR, `case${input.ext}`);
      writeFileSync(file, input.text);
      loaded = loadScenario(file);
    }
  } catch (e) {
    if (!(e instanceof ConfigError)) throw new Error(`${label}: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)} escaped`);
    expect(e.problems.length, label).toBeGreaterThan(0);
    for (const p of e.problems) {
      expect(p.path, `${label}: ${p.message}`).not.toBe("(internal)");
      expect(p.path.length, `${label}: ${p.message}`).toBeGreaterThan(0);
      expect(p.message.startsWith(`${p.path}: `), `${label}: ${p.message}`).toBe(true);
    }
    return "refused";
  }
  expect(nonFinite(loaded), `${label}: a loaded config holds a number that is not finite`).toBeUndefined();
  return "loaded";
}

function show(input: FuzzInput): string {
  try {
    return showUnsafe(input);
  } catch {
    return `(${input.kind} too deep to show)`;
  }
}

function showUnsafe(input: FuzzInput): string {
  const text = input.kind === "file" ? input.text : JSON.stringify(input.value, (_k, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v));
  return (text ?? "undefined").length > 300 ? `${(text ?? "").slice(0, 300)}…` : (text ?? "undefined");
}

describe("fuzzing the config loaders", () => {
  const total = CLASSES.reduce((n, c) => n + c.cases, 0);

  it(`${total} seeded cases in ${CLASSES.length} classes load or fail with a ConfigError naming a field`, () => {
    expect(total).toBeGreaterThanOrEqual(5000);
    const outcomes: Record<string, { loaded: number; refused: number }> = {};
    const failures: string[] = [];
    for (const c of CLASSES) {
      // One stream per class: adding a class or cases to one leaves the others' cases as they were.
      const rng = new RandomStreams(2024).stream(`config-fuzz:${c.name}`);
      const tally = { loaded: 0, refused: 0 };
      for (let i = 0; i < c.cases; i++) {
        const input = c.make(rng);
        try {
          tally[runCase(input, `${c.name} #${i}`)]++;
        } catch (e) {
          failures.push(`${e instanceof Error ? e.message : String(e)} for ${show(input)}`);
        }
      }
      outcomes[c.name] = tally;
    }
    expect(failures.slice(0, 20), `${failures.length} cases neither loaded nor were refused properly`).toEqual([]);
    // Each class reaches both answers where both exist, and mostly refuses.
    const random = outcomes["random edits of a valid scenario"]!;
    expect(random.loaded).toBeGreaterThan(10);
    expect(random.refused).toBeGreaterThan(750);
    for (const [name, t] of Object.entries(outcomes)) expect(t.refused, name).toBeGreaterThan(0);
  });

  it("the unmutated scenario and experiment load, and every class's field list is non-empty", () => {
    const s = scenarioFromObject(valid(), { baseDir: FIXTURES });
    expect(s.cluster.gpu.hbmBandwidth).toBe(4e12);
    expect(s.cluster.gpu.peakFlops.bf16).toBe(1e15);
    expect(s.parallelism.dp).toBe(4);
    expect(pointCount(experimentFromObject(validExperiment(), { baseDir: FIXTURES }))).toBe(8);
    for (const list of [STRING_FIELDS, NUMERIC_FIELDS, LIST_FIELDS]) expect(list.length).toBeGreaterThan(3);
    expect(FIELDS.map((f) => f.path.join("."))).toEqual(expect.arrayContaining(["name", "cluster.gpu.hbmBandwidth", "workload.model.hf", "reliability.failures.switch.blastRadius", "run.duration"]));
  });
});
