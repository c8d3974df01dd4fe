/**
 * Experiment files: a base scenario plus the axes to sweep it along.
 *
 * ```yaml
 * name: hbm-bandwidth-shift
 * description: free text
 * base: ../scenarios/llama3-8b-64.yaml      # a scenario file (relative to this file), or a scenario inline
 * sweep:                                    # grid: every combination
 *   cluster.gpu.hbmBandwidth: [1 TB/s, 2 TB/s, 3.35 TB/s]
 * zip:                                      # groups of lists walked together (same length within a group)
 *   - { cluster.nodes: [4, 8, 16], workload.globalBatch: [128, 256, 512] }
 * points:                                   # explicit points
 *   - { parallelism.tp: 4, parallelism.pp: 2 }
 * random:                                   # seeded random samples
 *   samples: 20
 *   seed: 7
 *   axes:
 *     cluster.network.nicBandwidth: { min: 100 Gb/s, max: 800 Gb/s, log: true }
 *     parallelism.recompute: { choices: [none, selective, full] }
 * seeds: [1, 2, 3]                          # repeat every point with these scenario seeds
 * reports: [bottleneck-shift]               # charts for the report engine
 * ```
 *
 * Point order (the point index): the components form a product, nested like for-loops
 * in this order, outermost first: the grid axes in the order written (the first axis
 * changes slowest), then each zip group in order, then `points` in order, then the random
 * samples, then `seeds` (innermost, so a point's seeds sit next to each other). A
 * component that is absent counts as one empty choice. The index of a point depends only
 * on the experiment file, never on workers or shards.
 */
import { createHash } from "node:crypto";
import { basename, dirname, extname, isAbsolute, relative, resolve } from "node:path";
import { RandomStreams } from "../sim/random.ts";
import { readConfigFile } from "./config-file.ts";
import { ConfigError, type ConfigProblem } from "./errors.ts";
import { deepMerge, scenarioFromObject, type LoadOptions } from "./load.ts";
import { applyOverride, pathProblem, valueAt, withOverrides } from "./overrides.ts";
import { Problems, isPlainObject, scenarioSchema, showValue, shownPath, suggest, type SchemaNode } from "./schema.ts";
import { FOLDER_NAME_ALLOWED, folderNameProblem } from "./output-folder.ts";
import type { SweepPoint } from "../models/results.ts";
import { stableStringify } from "./stable-json.ts";
import { parseQuantity, type Dimension } from "./units.ts";

export { stableStringify } from "./stable-json.ts";

type Raw = Record<string, unknown>;

/** A random axis: a range (uniform, or log-uniform) or a list of choices. */
export type RandomAxis =
  | { kind: "range"; min: number; max: number; log: boolean; integer: boolean }
  | { kind: "choices"; choices: unknown[] };

export interface RandomSpec {
  samples: number;
  seed: number;
  axes: [path: string, axis: RandomAxis][];
}

export interface Experiment {
  name: string;
  description?: string;
  /** The experiment file as given, for messages (undefined for experiments built from objects). */
  file?: string;
  /** The base scenario as a raw object: its `base:` chain merged in, not yet validated. */
  baseScenario: Raw;
  /** How to load a point's scenario: folder for relative paths ({hf: ...}), default name, file for messages. */
  loadOptions: LoadOptions;
  sweep: [path: string, values: unknown[]][];
  zip: [path: string, values: unknown[]][][];
  points: Raw[];
  random?: RandomSpec;
  /** Scenario seeds every point is run with; undefined = the base scenario's own seed. */
  seeds?: number[];
  reports: string[];
}

/** At most this many points per experiment: beyond it, a typo (a list pasted twice) is likelier than intent. */
export const MAX_POINTS = 1_000_000;

const KEYS = ["name", "description", "base", "sweep", "zip", "points", "random", "seeds", "reports"] as const;
const RANDOM_KEYS = ["samples", "seed", "axes"];

// ---------------------------------------------------------------------------
// Reading files


function displayPath(absolute: string): string {
  const rel = relative(process.cwd(), absolute);
  return rel === "" || rel.startsWith("..") || isAbsolute(rel) ? absolute : rel;
}

/**
 * A base file's relative `{hf: ...}` path is relative to that file: rewrite it relative to
 * `rootDir`, the folder the point's scenario will be loaded from (kept relative, so the
 * experiment's fingerprint does not depend on where the checkout lives).
 */
function anchorHf(config: Raw, fileDir: string, rootDir: string): Raw {
  const model = valueAt(config, "workload.model");
  if (!isPlainObject(model) || typeof model["hf"] !== "string" || isAbsolute(model["hf"])) return config;
  const target = resolve(fileDir, model["hf"]);
  const rel = relative(rootDir, target);
  return deepMerge(config, { workload: { model: { hf: isAbsolute(rel) ? target : rel } } });
}

/**
 * A scenario object with its `base:` chain merged underneath, the way the loader does it
 * (the name belongs to the file that gives it). `dir` is where `config`'s own relative
 * paths point; `rootDir` is where the result will be loaded from.
 */
function mergeBases(config: Raw, dir: string, rootDir: string, chain: readonly string[], problems: Problems): Raw | undefined {
  const { base, ...rest } = config;
  if (base === undefined) return rest;
  if (typeof base !== "string" || base === "") {
    problems.invalid("base", base, `the base scenario's base: ${showValue(base)} is not allowed; expected the path of a scenario file`);
    return undefined;
  }
  const file = resolve(dir, base);
  if (chain.includes(file)) {
    problems.invalid("base", base, `${JSON.stringify(base)} makes a cycle of base files: ${[...chain, file].map(displayPath).join(" -> ")}`);
    return undefined;
  }
  const read = readConfigFile(file, displayPath(file));
  if ("error" in read) {
    problems.invalid("base", base, read.error);
    return undefined;
  }
  if (!isPlainObject(read.value)) {
    problems.invalid("base", base, `${displayPath(file)} does not hold a scenario (found ${showValue(read.value)}); expected an object with keys cluster, workload, ...`);
    return undefined;
  }
  const parent = mergeBases(anchorHf(read.value, dirname(file), rootDir), dirname(file), rootDir, [...chain, file], problems);
  if (parent === undefined) return undefined;
  const { name: _name, ...inherited } = parent;
  return deepMerge(inherited, rest);
}

// ---------------------------------------------------------------------------
// Validation

function schemaNodeAt(path: string): SchemaNode | undefined {
  let node: SchemaNode | undefined = scenarioSchema;
  for (const key of path.split(".")) {
    if (node === undefined) return undefined;
    if (node.kind === "union") {
      const objects: SchemaNode[] = node.options.map((o) => o.node).filter((n) => n.kind === "object" && Object.hasOwn(n.fields, key));
      node = objects[0];
    }
    if (node === undefined) return undefined;
    if (node.kind === "object") {
      const fields: Readonly<Record<string, SchemaNode>> = node.fields;
      node = Object.hasOwn(fields, key) ? fields[key] : Object.values(fields).find((f) => f.aliases?.includes(key));
    } else if (node.kind === "record") node = node.values;
    else return undefined;
  }
  return node;
}

/** Location of an axis in the experiment file, for messages: `sweep.cluster.nodes`, `zip[1].cluster.nodes`. */
function at(where: string, path: string): string {
  return `${where}.${path}`;
}

function checkPath(where: string, path: string, problems: Problems): boolean {
  const problem = pathProblem(path);
  if (problem === undefined) {
    if (path === "seed" || path.startsWith("seed.")) {
      problems.invalid(at(where, path), undefined, `the scenario seed is not swept here; list seeds under seeds: [1, 2, 3]`);
      return false;
    }
    return true;
  }
  problems.invalid(at(where, path), path, problem);
  return false;
}

/** NaN and ±Infinity (YAML .inf, JSON 1e400) anywhere in a swept value. */
function notFinite(value: unknown, depth = 0): boolean {
  if (typeof value === "number") return !Number.isFinite(value);
  // Deeper than any scenario goes: the point's scenario refuses it when it loads.
  return depth < 64 && typeof value === "object" && value !== null && Object.values(value).some((v) => notFinite(v, depth + 1));
}

function readList(where: string, value: unknown, problems: Problems): unknown[] | undefined {
  if (!Array.isArray(value) || value.length === 0) {
    problems.invalid(where, value, `${showValue(value)} is not allowed; expected a non-empty list of values, e.g. [1 TB/s, 2 TB/s]`);
    return undefined;
  }
  const bad = (value as unknown[]).findIndex(notFinite);
  if (bad >= 0) {
    problems.invalid(`${where}[${bad}]`, value[bad], `${String(value[bad])} is not allowed (results.jsonl could not record it: JSON has no ${String(value[bad])}); expected a finite number, or a quantity such as "1e20 B"`);
    return undefined;
  }
  return value as unknown[];
}

function readAxes(where: string, value: unknown, problems: Problems): [string, unknown[]][] {
  if (!isPlainObject(value) || Object.keys(value).length === 0) {
    problems.invalid(where, value, `${showValue(value)} is not allowed; expected an object mapping dotted scenario paths to lists of values, e.g. {cluster.gpu.hbmBandwidth: [2 TB/s, 4 TB/s]}`);
    return [];
  }
  const axes: [string, unknown[]][] = [];
  for (const [path, list] of Object.entries(value)) {
    if (!checkPath(where, path, problems)) continue;
    const values = readList(at(where, path), list, problems);
    if (values !== undefined) axes.push([path, values]);
  }
  return axes;
}

function readInt(where: string, value: unknown, minimum: number, problems: Problems): number | undefined {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < minimum) {
    problems.invalid(where, value, `${showValue(value)} is not allowed; expected an integer >= ${minimum}`);
    return undefined;
  }
  return value;
}

function rangeEnd(where: string, value: unknown, node: SchemaNode | undefined, problems: Problems): number | undefined {
  if (node?.kind === "quantity") {
    const q = parseQuantity(value, node.dimension as Dimension);
    if (typeof q === "number") return q;
    problems.invalid(where, value, q.error);
    return undefined;
  }
  if (typeof value === "number" && Number.isFinite(value)) return value;
  const unknown = node === undefined ? " (a value with a unit needs a path the scenario schema knows)" : "";
  problems.invalid(where, value, `${showValue(value)} is not allowed; expected a number${unknown}`);
  return undefined;
}

function readRandomAxis(where: string, path: string, value: unknown, problems: Problems): RandomAxis | undefined {
  const here = at(where, path);
  if (isPlainObject(value) && Object.hasOwn(value, "choices")) {
    const extra = Object.keys(value).filter((k) => k !== "choices");
    if (extra.length > 0) problems.note(`${here}.${extra[0]}`, value[extra[0] as string], `unknown key; a choices axis takes only choices`);
    const choices = readList(`${here}.choices`, value["choices"], problems);
    return choices === undefined ? undefined : { kind: "choices", choices };
  }
  if (!isPlainObject(value) || !Object.hasOwn(value, "min") || !Object.hasOwn(value, "max")) {
    problems.invalid(here, value, `${showValue(value)} is not allowed; expected {min, max, log?: true} or {choices: [...]}`);
    return undefined;
  }
  for (const k of Object.keys(value)) {
    if (!["min", "max", "log"].includes(k)) problems.note(`${here}.${k}`, value[k], `unknown key; allowed keys in a range axis: min, max, log`);
  }
  const node = schemaNodeAt(path);
  const min = rangeEnd(`${here}.min`, value["min"], node, problems);
  const max = rangeEnd(`${here}.max`, value["max"], node, problems);
  const logValue = value["log"] ?? false;
  if (typeof logValue !== "boolean") problems.invalid(`${here}.log`, logValue, `${showValue(logValue)} is not allowed; expected true or false`);
  const log = logValue === true;
  if (min === undefined || max === undefined) return undefined;
  if (min > max) {
    problems.invalid(`${here}.max`, value["max"], `${showValue(value["max"])} is not allowed; max must be at least min ${showValue(value["min"])}`);
    return undefined;
  }
  if (log && min <= 0) {
    problems.invalid(`${here}.min`, value["min"], `${showValue(value["min"])} is not allowed with log: true; expected a value > 0`);
    return undefined;
  }
  const integer = node?.kind === "int";
  if (integer && Math.ceil(min) > Math.floor(max)) {
    problems.invalid(here, value, `no integer lies between min ${showValue(value["min"])} and max ${showValue(value["max"])}`);
    return undefined;
  }
  return { kind: "range", min, max, log, integer };
}

function readRandom(value: unknown, problems: Problems): RandomSpec | undefined {
  if (!isPlainObject(value)) {
    problems.invalid("random", value, `${showValue(value)} is not allowed; expected {samples: N, seed?: S, axes: {path: {min, max, log?} | {choices: [...]}}}`);
    return undefined;
  }
  for (const k of Object.keys(value)) {
    if (RANDOM_KEYS.includes(k)) continue;
    const close = suggest(k, RANDOM_KEYS);
    const hint = close.length > 0 ? ` did you mean ${close.map((c) => JSON.stringify(c)).join(" or ")}?` : "";
    problems.note(`random.${k}`, value[k], `unknown key;${hint} allowed keys in random: ${RANDOM_KEYS.join(", ")}`);
  }
  const samples = Object.hasOwn(value, "samples") ? readInt("random.samples", value["samples"], 1, problems) : undefined;
  if (!Object.hasOwn(value, "samples")) problems.invalid("random.samples", undefined, "required key is missing; expected an integer >= 1");
  const seed = value["seed"] === undefined ? 1 : readInt("random.seed", value["seed"], 0, problems);
  const axesIn = value["axes"];
  if (!isPlainObject(axesIn) || Object.keys(axesIn).length === 0) {
    problems.invalid("random.axes", axesIn, `${showValue(axesIn)} is not allowed; expected an object mapping dotted scenario paths to {min, max, log?} or {choices: [...]}`);
    return undefined;
  }
  const axes: [string, RandomAxis][] = [];
  for (const [path, spec] of Object.entries(axesIn)) {
    if (!checkPath("random.axes", path, problems)) continue;
    const axis = readRandomAxis("random.axes", path, spec, problems);
    if (axis !== undefined) axes.push([path, axis]);
  }
  if (samples === undefined || seed === undefined) return undefined;
  return { samples, seed, axes };
}

/** Experiment-level checks of the swept paths: each must name a key the scenario schema knows. */
function checkPathsAgainstSchema(exp: Experiment, located: Map<string, string>, problems: Problems): void {
  for (const [path, where] of located) {
    const values = [...exp.sweep, ...exp.zip.flat()].find(([p]) => p === path)?.[1] ?? [];
    const sample = values[0] ?? exp.points.find((p) => Object.hasOwn(p, path))?.[path] ?? 1;
    let found: ConfigProblem[] = [];
    try {
      scenarioFromObject(withOverrides(exp.baseScenario, [[path, sample]]), exp.loadOptions);
    } catch (e) {
      if (e instanceof ConfigError) found = e.problems;
    }
    // Problems name a long key shortened (schema.ts shownKey).
    const shown = shownPath(path);
    const unknown = found.find((p) => (p.path === shown || shown.startsWith(`${p.path}.`)) && / unknown key[;:]/.test(p.message));
    if (unknown !== undefined) {
      const detail = unknown.message.startsWith(`${unknown.path}: `) ? unknown.message.slice(unknown.path.length + 2) : unknown.message;
      const prefix = unknown.path === shown ? "" : `${unknown.path}: `;
      problems.invalid(where, path, `${prefix}${detail.replace(/^unknown key/, "unknown scenario key")}`);
    }
  }
}

function sameOrNested(a: string, b: string): boolean {
  return a === b || a.startsWith(`${b}.`) || b.startsWith(`${a}.`);
}

export interface ExperimentOptions {
  /** Folder that a `base:` path is relative to. */
  baseDir: string;
  /** Name when the experiment gives none (the file name without extension). */
  name?: string;
  /** How to call the experiment in messages. */
  file?: string;
}

export function loadExperiment(file: string): Experiment {
  const absolute = resolve(file);
  const read = readConfigFile(absolute, file);
  if ("error" in read) throw new ConfigError([{ path: "(file)", value: file, message: `(file): ${read.error}` }], file);
  return experimentFromObject(read.value, { baseDir: dirname(absolute), name: basename(file, extname(file)), file });
}

export function experimentFromObject(input: unknown, opts: ExperimentOptions): Experiment {
  const problems = new Problems();
  const fail = (): never => {
    throw new ConfigError(problems.list, opts.file);
  };
  if (!isPlainObject(input)) {
    const what = input === null || input === undefined ? "the experiment is empty" : `${showValue(input)} is not allowed`;
    problems.invalid("", input, `${what}; expected an experiment: an object with keys ${KEYS.join(", ")}`);
    fail();
  }
  const v = input as Raw;
  for (const key of Object.keys(v)) {
    if ((KEYS as readonly string[]).includes(key)) continue;
    const close = suggest(key, KEYS);
    const scenarioKey = Object.hasOwn(scenarioSchema.fields, key) ? ` ${key} is a scenario key: put it in the base scenario, or sweep it as sweep: {${key}...: [...]};` : "";
    const hint = close.length > 0 ? ` did you mean ${close.map((c) => JSON.stringify(c)).join(" or ")}?` : scenarioKey;
    problems.unknownKey("", key, v[key], `unknown key;${hint} allowed keys in an experiment: ${KEYS.join(", ")}`);
  }

  let name = opts.name ?? "experiment";
  if (v["name"] !== undefined) {
    const n = v["name"];
    const problem = folderNameProblem(n);
    if (problem !== undefined) problems.invalid("name", n, `${showValue(n)} is not allowed (${problem}); expected ${FOLDER_NAME_ALLOWED}`);
    else name = n as string;
  }
  const description = v["description"];
  if (description !== undefined && typeof description !== "string") problems.invalid("description", description, `${showValue(description)} is not allowed; expected a string`);

  // The base scenario.
  let baseScenario: Raw | undefined;
  let loadOptions: LoadOptions = { baseDir: opts.baseDir, name, file: opts.file ?? name };
  const base = v["base"];
  if (base === undefined) {
    problems.invalid("base", undefined, "required key is missing; expected the path of a scenario file (relative to the experiment) or a scenario inline");
  } else if (typeof base === "string" && base !== "") {
    const file = resolve(opts.baseDir, base);
    const shown = displayPath(file);
    const read = readConfigFile(file, shown);
    if ("error" in read) problems.invalid("base", base, read.error);
    else if (!isPlainObject(read.value)) problems.invalid("base", base, `${shown} does not hold a scenario (found ${showValue(read.value)}); expected an object with keys cluster, workload, ...`);
    else {
      baseScenario = mergeBases(read.value, dirname(file), dirname(file), [file], problems);
      loadOptions = { baseDir: dirname(file), name: basename(file, extname(file)), file: shown };
    }
  } else if (isPlainObject(base)) {
    baseScenario = mergeBases(base, opts.baseDir, opts.baseDir, opts.file === undefined ? [] : [resolve(opts.file)], problems);
    loadOptions = { baseDir: opts.baseDir, name, file: `${opts.file ?? name} (base)` };
  } else {
    problems.invalid("base", base, `${showValue(base)} is not allowed; expected the path of a scenario file (relative to the experiment) or a scenario inline`);
  }

  // Axes.
  const sweep = v["sweep"] === undefined ? [] : readAxes("sweep", v["sweep"], problems);
  const zip: [string, unknown[]][][] = [];
  if (v["zip"] !== undefined) {
    const groups = v["zip"];
    if (!Array.isArray(groups) || groups.length === 0) {
      problems.invalid("zip", groups, `${showValue(groups)} is not allowed; expected a list of groups, each mapping dotted paths to lists of the same length, e.g. [{cluster.nodes: [4, 8], workload.globalBatch: [256, 512]}]`);
    } else {
      groups.forEach((group: unknown, g) => {
        const axes = readAxes(`zip[${g}]`, group, problems);
        const first = axes[0];
        for (const [path, values] of axes.slice(1)) {
          if (first !== undefined && values.length !== first[1].length) {
            problems.invalid(
              at(`zip[${g}]`, path),
              values,
              `${values.length} value${values.length === 1 ? "" : "s"}, but zip[${g}].${first[0]} has ${first[1].length}; all lists of a zip group must have the same length`,
            );
          }
        }
        zip.push(axes);
      });
    }
  }
  const points: Raw[] = [];
  if (v["points"] !== undefined) {
    const list = v["points"];
    if (!Array.isArray(list) || list.length === 0) {
      problems.invalid("points", list, `${showValue(list)} is not allowed; expected a non-empty list of points, each mapping dotted paths to values, e.g. [{parallelism.tp: 4, parallelism.pp: 2}]`);
    } else {
      list.forEach((p: unknown, i) => {
        if (!isPlainObject(p)) {
          problems.invalid(`points[${i}]`, p, `${showValue(p)} is not allowed; expected an object mapping dotted paths to values, e.g. {parallelism.tp: 4} ({} is the base scenario as it is)`);
          return;
        }
        const point: Raw = {};
        for (const [path, value] of Object.entries(p)) {
          if (!checkPath(`points[${i}]`, path, problems)) continue;
          if (notFinite(value)) {
            problems.invalid(`points[${i}].${path}`, value, `${showValue(value)} is not allowed (results.jsonl could not record it: JSON has no NaN or Infinity); expected a finite number`);
            continue;
          }
          Object.defineProperty(point, path, { value, enumerable: true, writable: true, configurable: true });
        }
        points.push(point);
      });
    }
  }
  const random = v["random"] === undefined ? undefined : readRandom(v["random"], problems);

  let seeds: number[] | undefined;
  if (v["seeds"] !== undefined) {
    const list = v["seeds"];
    if (!Array.isArray(list) || list.length === 0) problems.invalid("seeds", list, `${showValue(list)} is not allowed; expected a non-empty list of integers >= 0, e.g. [1, 2, 3]`);
    else {
      seeds = [];
      list.forEach((s: unknown, i) => {
        const seed = readInt(`seeds[${i}]`, s, 0, problems);
        if (seed === undefined) return;
        if (seeds?.includes(seed)) problems.invalid(`seeds[${i}]`, s, `${seed} repeats an earlier seed; list each seed once`);
        else seeds?.push(seed);
      });
    }
  }
  const reports: string[] = [];
  if (v["reports"] !== undefined) {
    const list = v["reports"];
    if (!Array.isArray(list)) problems.invalid("reports", list, `${showValue(list)} is not allowed; expected a list of report names, e.g. [bottleneck-shift]`);
    else {
      list.forEach((r: unknown, i) => {
        if (typeof r !== "string" || r.trim() === "") problems.invalid(`reports[${i}]`, r, `${showValue(r)} is not allowed; expected a report name (a non-empty string)`);
        else reports.push(r);
      });
    }
  }

  // A path may be swept by one component only, and not together with a path inside it.
  const located = new Map<string, string>();
  const claim = (path: string, where: string): void => {
    const isPoint = where.startsWith("points[");
    for (const [other, otherWhere] of located) {
      if (!sameOrNested(path, other)) continue;
      if (isPoint && otherWhere.startsWith("points[")) {
        if (path === other) return; // points each set their own values
        continue;
      }
      const how = path === other ? "is also swept by" : "overlaps";
      problems.invalid(where, path, `${path} ${how} ${otherWhere}; sweep each scenario key in one place only`);
      return;
    }
    located.set(path, where);
  };
  for (const [path] of sweep) claim(path, at("sweep", path));
  zip.forEach((group, g) => {
    for (const [path] of group) claim(path, at(`zip[${g}]`, path));
  });
  points.forEach((p, i) => {
    for (const path of Object.keys(p)) claim(path, at(`points[${i}]`, path));
  });
  for (const [path] of random?.axes ?? []) claim(path, at("random.axes", path));

  if (baseScenario === undefined) fail();
  const exp: Experiment = {
    name,
    ...(typeof description === "string" ? { description } : {}),
    ...(opts.file !== undefined ? { file: opts.file } : {}),
    baseScenario: baseScenario as Raw,
    loadOptions,
    sweep,
    zip,
    points,
    ...(random !== undefined ? { random } : {}),
    ...(seeds !== undefined ? { seeds } : {}),
    reports,
  };
  const count = pointCount(exp);
  if (count > MAX_POINTS) {
    problems.invalid("(config)", undefined, `the experiment expands to ${count.toLocaleString("en-US")} points; at most ${MAX_POINTS.toLocaleString("en-US")} are allowed (split it into several experiments)`);
  }
  checkPathsAgainstSchema(exp, located, problems);
  if (problems.list.length > 0) fail();
  return exp;
}

// ---------------------------------------------------------------------------
// Expansion

/** How many points the experiment expands to. */
export function pointCount(exp: Experiment): number {
  const grid = exp.sweep.reduce((n, [, values]) => n * values.length, 1);
  const zips = exp.zip.reduce((n, group) => n * (group[0]?.[1].length ?? 1), 1);
  return grid * zips * Math.max(1, exp.points.length) * (exp.random?.samples ?? 1) * (exp.seeds?.length ?? 1);
}

/** The swept paths in column order: grid axes, zip groups, points (first appearance), random axes. */
export function paramNames(exp: Experiment): string[] {
  const names: string[] = [];
  const add = (p: string): void => {
    if (!names.includes(p)) names.push(p);
  };
  for (const [p] of exp.sweep) add(p);
  for (const group of exp.zip) for (const [p] of group) add(p);
  for (const point of exp.points) for (const p of Object.keys(point)) add(p);
  for (const [p] of exp.random?.axes ?? []) add(p);
  return names;
}

/** Rounded to 6 significant digits: samples read well in tables and are exact in JSON. */
function tidy(x: number): number {
  return Number(x.toPrecision(6));
}

/** The random samples, each a list of [path, value]. Each axis draws from its own named stream. */
export function randomSamples(spec: RandomSpec): [string, unknown][][] {
  const streams = new RandomStreams(spec.seed);
  const columns = spec.axes.map(([path, axis]) => {
    const stream = streams.stream(`experiment.random:${path}`);
    const values: unknown[] = [];
    for (let i = 0; i < spec.samples; i++) {
      if (axis.kind === "choices") {
        values.push(axis.choices[stream.int(0, axis.choices.length)]);
        continue;
      }
      const u = stream.uniform();
      let x = axis.log ? Math.exp(Math.log(axis.min) + u * (Math.log(axis.max) - Math.log(axis.min))) : axis.min + u * (axis.max - axis.min);
      if (axis.integer) x = Math.min(Math.floor(axis.max), Math.max(Math.ceil(axis.min), Math.round(x)));
      else x = Math.min(axis.max, Math.max(axis.min, tidy(x)));
      values.push(x);
    }
    return values;
  });
  const samples: [string, unknown][][] = [];
  for (let i = 0; i < spec.samples; i++) samples.push(spec.axes.map(([path], a) => [path, columns[a]?.[i]]));
  return samples;
}

function scenarioSeed(exp: Experiment): number {
  const s = exp.baseScenario["seed"];
  return typeof s === "number" && Number.isSafeInteger(s) && s >= 0 ? s : 1;
}

/** Every point of the experiment, in index order (see the file comment for the order). */
export function expandPoints(exp: Experiment): SweepPoint[] {
  // Each factor is a list of choices; a choice is a list of [path, value].
  const factors: [string, unknown][][][] = [];
  for (const [path, values] of exp.sweep) factors.push(values.map((value) => [[path, value]]));
  for (const group of exp.zip) {
    const length = group[0]?.[1].length ?? 0;
    factors.push(Array.from({ length }, (_, i) => group.map(([path, values]) => [path, values[i]] as [string, unknown])));
  }
  if (exp.points.length > 0) factors.push(exp.points.map((p) => Object.entries(p)));
  if (exp.random !== undefined) factors.push(randomSamples(exp.random));
  const seeds = exp.seeds ?? [scenarioSeed(exp)];

  const out: SweepPoint[] = [];
  const choice = new Array<number>(factors.length).fill(0);
  const total = pointCount(exp) / seeds.length;
  for (let n = 0; n < total; n++) {
    // choice = n in mixed radix, the last factor fastest.
    let rest = n;
    for (let f = factors.length - 1; f >= 0; f--) {
      const size = (factors[f] as unknown[]).length;
      choice[f] = rest % size;
      rest = Math.floor(rest / size);
    }
    const params: Record<string, unknown> = {};
    factors.forEach((factor, f) => {
      for (const [path, value] of factor[choice[f] as number] ?? []) Object.defineProperty(params, path, { value, enumerable: true, writable: true, configurable: true });
    });
    for (const seed of seeds) out.push({ index: out.length, seed, params: structuredClone(params) });
  }
  return out;
}

/** The raw scenario of one point: the base with the point's params (and seed, when the experiment lists seeds) applied. */
export function pointScenario(exp: Experiment, point: SweepPoint): Raw {
  const raw = withOverrides(exp.baseScenario, Object.entries(point.params));
  if (exp.seeds !== undefined) applyOverride(raw, "seed", point.seed);
  return raw;
}

/**
 * A digest of what the experiment computes: its name, base scenario and points. Shards
 * and resumed runs must agree on it, so results of a changed experiment are never mixed.
 */
export function experimentFingerprint(exp: Experiment, points: readonly SweepPoint[] = expandPoints(exp)): string {
  const hash = createHash("sha256");
  hash.update(stableStringify({ name: exp.name, base: exp.baseScenario, seeds: exp.seeds ?? null }));
  for (const p of points) hash.update(`\n${stableStringify([p.index, p.seed, p.params])}`);
  return hash.digest("hex").slice(0, 16);
}
