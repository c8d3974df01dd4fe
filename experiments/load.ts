/**
 * Scenario files (YAML or JSON) to a validated Scenario in SI units.
 *
 * Order: read → follow `base:` files → check the shape against the schema → resolve the
 * GPU and model from the catalogs → fill derived defaults → checkPlan. Every problem found
 * along the way is kept, so one ConfigError lists them all.
 */
import { basename, dirname, extname, isAbsolute, relative, resolve } from "node:path";
import { CATALOG } from "../models/hardware/catalog.ts";
import type { Accelerator, AttentionBackend, EfficiencyCalibration, Precision } from "../models/hardware/types.ts";
import { attentionBackendsOf, withAttentionBackend } from "../models/hardware/attention-backend.ts";
import { withNormKernel, type NormKernel } from "../models/hardware/catalog/memory-kernels.ts";
import { checkPlan } from "../models/parallel/plan.ts";
import { eagerLayerProblem } from "../models/workload/eager-layer.ts";
import { recomputeModulesProblem } from "../models/workload/recompute-modules.ts";
import type { AttentionKernel, CpCommType, CpLayout, CpRingImplementation, CrossEntropyKind, FailureClass, FailureProcess, MasterWeights, OptimizerImplementation, ModelSpec, MoeLoadDistribution, MoeRoutingSpec, ParallelPlan, RecomputeMode, RecomputeModule, ReliabilitySpec, Scenario, Straggler, TopologyKind } from "../models/scenario.ts";
import { dataFrom } from "./data-load.ts";
import { FAILURE_CLASSES, LLAMA3_FAILURE_RATES } from "../models/reliability/failure-rates.ts";
import { BUILTIN_MODELS } from "../models/workload/builtins.ts";
import { modelFromHfConfig } from "../models/workload/hf-config.ts";
import { paddedVocab } from "../models/workload/params.ts";
import { offloadsActivations } from "../models/workload/memory.ts";
import { FP8_RECIPES, type Fp8Recipe } from "../models/workload/fp8.ts";
import { scaleUpTopologyProblem, type ScaleUpTopologyRequest } from "../models/network/scale-up.ts";
import { placementProblem } from "../models/network/placement.ts";
import { readConfigFile, readInputFile } from "./config-file.ts";
import { rematFrom } from "./remat-load.ts";
import { offloadModulesFrom } from "./offload-modules-load.ts";
import { defaultNodeOverheadWatts } from "./defaults.ts";
import { ConfigError } from "./errors.ts";
import { calibratedCluster, readCalibration, type CalibrationFile } from "./calibrate/calibration-file.ts";
import { CalibrationInputError } from "./calibrate/errors.ts";
import { CLUSTER_PRESETS } from "./presets.ts";
import { Problems, expected, isPlainObject, scenarioSchema, schemaDefault, showValue, validate, type Tagged } from "./schema.ts";
import { formatQuantity, parseQuantity } from "./units.ts";

export interface PublishedFigure {
  metric: string;
  value: number;
  note?: string;
  categories?: string[];
  /** Peak memory per GPU as the source states it, bytes. */
  memoryBytesPerGpu?: number;
  /** What that figure measures: the whole device, or a caching-allocator peak (tensors only). */
  memoryMeasure?: "device" | "allocator";
}

/** A Scenario plus what published cases carry along for `trainsim validate`. */
export type LoadedScenario = Scenario & { source?: string; published?: PublishedFigure };

export interface LoadOptions {
  /** Folder that relative paths (`base:`, `{hf: ...}`) are resolved against. */
  baseDir: string;
  /** Scenario name when the config gives none. */
  name?: string;
  /** How to call the config in messages and in `sources` ("user-defined in <file>"). */
  file?: string;
}

type Raw = Record<string, unknown>;


export function loadScenario(file: string): LoadedScenario {
  const problems = new Problems();
  return guarded(problems, file, () => {
    const absolute = resolve(file);
    const raw = readConfig(absolute, file, "(file)", problems);
    if (problems.list.length > 0) throw new ConfigError(problems.list, file);
    const stem = basename(file, extname(file));
    return build(raw, { baseDir: dirname(absolute), name: stem, file }, problems, [absolute]);
  });
}

export function scenarioFromObject(obj: unknown, opts: LoadOptions): LoadedScenario {
  const problems = new Problems();
  return guarded(problems, opts.file, () => build(obj, opts, problems, []));
}

/** Anything unexpected becomes a problem too: loading a config never throws anything but ConfigError. */
export function guarded<T>(problems: Problems, file: string | undefined, load: () => T): T {
  try {
    return load();
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    const what = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    problems.note("(internal)", undefined, `unexpected error while loading (${what}); this is a trainsim bug, please report it with the config`);
    throw new ConfigError(problems.list, file);
  }
}

// ---------------------------------------------------------------------------
// Reading files

function displayPath(absolute: string): string {
  const rel = relative(process.cwd(), absolute);
  return rel === "" || rel.startsWith("..") ? absolute : rel;
}

/**
 * Parsed contents of a YAML or JSON file. Read failures are reported at `pathForRead`
 * ("(file)" for the scenario itself, "base" for a base file); syntax errors at "(file)".
 */
function readConfig(absolute: string, shown: string, pathForRead: string, problems: Problems): unknown {
  const read = readConfigFile(absolute, shown);
  if ("value" in read) return read.value;
  problems.invalid(read.stage === "read" ? pathForRead : "(file)", shown, read.error);
  return undefined;
}

// ---------------------------------------------------------------------------
// base: inheritance

/** `over` wins; objects merge key by key, anything else (lists included) is replaced. */
export function deepMerge(base: Raw, over: Raw): Raw {
  const out: Raw = {};
  const put = (key: string, value: unknown): void => {
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  };
  for (const key of Object.keys(base)) put(key, base[key]);
  for (const key of Object.keys(over)) {
    const a = out[key];
    const b = over[key];
    put(key, Object.hasOwn(out, key) && isPlainObject(a) && isPlainObject(b) ? deepMerge(a, b) : b);
  }
  return out;
}

/** A base file's relative `{hf: ...}` path means relative to that base file, not to the child. */
function anchorPaths(config: Raw, dir: string): Raw {
  const cluster = config["cluster"];
  if (isPlainObject(cluster) && typeof cluster["calibration"] === "string" && !isAbsolute(cluster["calibration"])) {
    config = deepMerge(config, { cluster: { calibration: resolve(dir, cluster["calibration"]) } });
  }
  const workload = config["workload"];
  if (!isPlainObject(workload)) return config;
  const model = workload["model"];
  if (!isPlainObject(model) || typeof model["hf"] !== "string" || isAbsolute(model["hf"])) return config;
  return deepMerge(config, { workload: { model: { hf: resolve(dir, model["hf"]) } } });
}

/** cluster.calibration: the calibration file, read and checked (path relative to the scenario's folder). */
function calibrationFrom(clusterIn: Raw, baseDir: string, gpu: Accelerator | undefined, problems: Problems): { file: CalibrationFile; shown: string } | undefined {
  const written = clusterIn["calibration"];
  if (typeof written !== "string") return undefined;
  const path = resolve(baseDir, written);
  try {
    const file = readCalibration(path);
    if (gpu !== undefined && file.gpu !== gpu.name) {
      problems.invalid("cluster.calibration", written, `${JSON.stringify(written)} was fitted on ${file.gpu}, not ${gpu.name}; expected a calibration of the scenario's accelerator`);
      return undefined;
    }
    return { file, shown: written };
  } catch (err) {
    if (!(err instanceof CalibrationInputError)) throw err;
    problems.invalid("cluster.calibration", written, `cluster.calibration: ${JSON.stringify(written)}: ${err.message.replace(/^[^:]*: /, "")}`);
    return undefined;
  }
}

/** The config with its `base:` chain merged underneath. `chain` holds the files already on the way, for cycles. */
function withBases(config: Raw, dir: string, chain: readonly string[], problems: Problems): Raw {
  const base = config["base"];
  if (typeof base !== "string" || base === "") return config; // the schema reports a bad `base`
  const file = resolve(dir, base);
  if (chain.includes(file)) {
    const loop = [...chain, file].map(displayPath).join(" -> ");
    problems.invalid("base", base, `${JSON.stringify(base)} makes a cycle of base files: ${loop}`);
    return config;
  }
  const parent = readConfig(file, displayPath(file), "base", problems);
  if (parent === undefined) return config;
  if (!isPlainObject(parent)) {
    problems.invalid("base", base, `${JSON.stringify(base)} does not hold a scenario (found ${showValue(parent)}); expected an object with keys cluster, workload, ...`);
    return config;
  }
  const inherited = withBases(anchorPaths(parent, dirname(file)), dirname(file), [...chain, file], problems);
  // The name belongs to the file that gives it: a child is a different scenario.
  const { name: _name, base: _base, ...rest } = inherited;
  return deepMerge(rest, config);
}

// ---------------------------------------------------------------------------
// Reading converted values (the schema has checked their types; placeholders stand in for invalid ones)

function part(o: Raw | undefined, key: string): Raw {
  const v = o?.[key];
  return isPlainObject(v) ? v : {};
}
function numberAt(o: Raw, key: string, fallback: number): number {
  const v = o[key];
  return typeof v === "number" ? v : fallback;
}
/** A key the schema defaults: validation filled it, unless it was invalid (then the load fails anyway). */
function defaultedNumber(o: Raw, key: string, path: string): number {
  return numberAt(o, key, schemaDefault(path) as number);
}
function defaultedString<T extends string>(o: Raw, key: string, path: string): T {
  return stringAt<T>(o, key, schemaDefault(path) as T);
}
function reliabilityFrom(raw: Raw, nodes: number, nicBandwidth: number): ReliabilitySpec {
  const failuresIn = part(raw, "failures");
  const failures = {} as Record<FailureClass, FailureProcess>;
  for (const cls of FAILURE_CLASSES) {
    const f = part(failuresIn, cls);
    const mtbf = optionalNumber(f, "mtbf");
    const distribution = stringAt<"exponential" | "weibull">(f, "distribution", LLAMA3_FAILURE_RATES[cls].distribution);
    const shape = optionalNumber(f, "shape");
    const blast = f["blastRadius"];
    failures[cls] = {
      ratePerHour: mtbf !== undefined ? 3600 / mtbf : LLAMA3_FAILURE_RATES[cls].ratePerHour,
      distribution,
      ...(shape !== undefined ? { shape } : {}),
      ...(blast === "leaf" || blast === "node" ? { blastRadius: blast } : {}),
    };
  }
  const interval = optionalNumber(raw, "checkpointInterval");
  return {
    checkpointInterval: interval ?? "young-daly",
    checkpointMode: stringAt<"sync" | "async">(raw, "checkpointMode", "sync"),
    ...optionalFields(raw, { storageBandwidth: "storageBandwidth" }),
    nodeStorageBandwidth: numberAt(raw, "nodeStorageBandwidth", 2 * nicBandwidth),
    detectionTime: numberAt(raw, "detectionTime", 60),
    restartTime: numberAt(raw, "restartTime", 600),
    spareNodes: numberAt(raw, "spareNodes", Math.max(1, Math.ceil(0.02 * nodes))),
    repairTime: numberAt(raw, "repairTime", 86400),
    failures,
  };
}

/** facilityCapSchedule: keys are times with units, values caps (already converted to watts). */
function capScheduleFrom(power: Raw, problems: Problems): { facilityCapSchedule?: { at: number; watts: number }[] } {
  const raw = power["facilityCapSchedule"];
  if (!isPlainObject(raw)) return {};
  const steps: { at: number; watts: number }[] = [];
  for (const [key, watts] of Object.entries(raw)) {
    const at = parseQuantity(key, "time");
    if (typeof at !== "number") {
      problems.invalid(`cluster.power.facilityCapSchedule.${key}`, key, `the key ${JSON.stringify(key)} is not a time: ${at.error}`);
      continue;
    }
    if (typeof watts === "number") steps.push({ at, watts });
  }
  return { facilityCapSchedule: steps.sort((a, b) => a.at - b.at) };
}

/** cluster.stragglers: keys are the job's global ranks, values speeds (already checked to lie in (0, 1]). */
function stragglersFrom(cluster: Raw, jobGpus: number | undefined, problems: Problems): { stragglers?: Straggler[] } {
  const raw = cluster["stragglers"];
  if (!isPlainObject(raw)) return {};
  const out: Straggler[] = [];
  const range = jobGpus === undefined ? "a GPU rank (an integer >= 0)" : `a GPU rank of the job: an integer from 0 to ${jobGpus - 1} (tp·pp·dp·cp = ${jobGpus} GPUs)`;
  for (const [key, speed] of Object.entries(raw)) {
    const gpu = /^\d+$/.test(key.trim()) ? Number(key) : NaN;
    if (!Number.isSafeInteger(gpu) || (jobGpus !== undefined && gpu >= jobGpus)) {
      problems.invalid(`cluster.stragglers.${key}`, key, `the key ${JSON.stringify(key)} is not allowed; expected ${range}`);
      continue;
    }
    if (typeof speed === "number") out.push({ gpu, speed });
  }
  return { stragglers: out.sort((a, b) => a.gpu - b.gpu) };
}

function supplyFrom(power: Raw): { facilitySupply?: { gridWatts: number; variableWatts: number; meanPeriodSeconds: number } } {
  const raw = part(power, "facilitySupply");
  const grid = optionalNumber(raw, "grid");
  const variable = optionalNumber(raw, "variable");
  const period = optionalNumber(raw, "meanPeriod");
  if (grid === undefined || variable === undefined || period === undefined) return {};
  return { facilitySupply: { gridWatts: grid, variableWatts: variable, meanPeriodSeconds: period } };
}

/** `cluster.preset`: the preset's keys go underneath the file's own (unknown names fail in the schema). */
function withPreset(merged: Raw): Raw {
  const cluster = merged["cluster"];
  if (!isPlainObject(cluster) || typeof cluster["preset"] !== "string") return merged;
  const preset = CLUSTER_PRESETS[cluster["preset"]];
  if (preset === undefined) return merged;
  return { ...merged, cluster: deepMerge(preset.cluster, cluster) };
}

/** The numeric keys of `o` that are present, renamed: {outName: inKey}. */
function optionalFields(o: Raw, names: Record<string, string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, key] of Object.entries(names)) {
    const v = o[key];
    if (typeof v === "number") out[name] = v;
  }
  return out;
}
function optionalNumber(o: Raw, key: string): number | undefined {
  const v = o[key];
  return typeof v === "number" ? v : undefined;
}
function stringAt<T extends string>(o: Raw, key: string, fallback: T): T {
  const v = o[key];
  return typeof v === "string" ? (v as T) : fallback;
}
function optionalString(o: Raw, key: string): string | undefined {
  const v = o[key];
  return typeof v === "string" ? v : undefined;
}
function boolAt(o: Raw, key: string): boolean | undefined {
  const v = o[key];
  return typeof v === "boolean" ? v : undefined;
}
function tagged(v: unknown): Tagged | undefined {
  return isPlainObject(v) && typeof v["option"] === "string" ? (v as unknown as Tagged) : undefined;
}
/** The key the user actually wrote, so a message points at their spelling (`tdp` rather than `tdpWatts`). */
function writtenKey(raw: Raw, name: string, aliases: readonly string[]): string {
  return aliases.find((a) => Object.hasOwn(raw, a)) ?? name;
}

// ---------------------------------------------------------------------------
// The GPU

const NUMERIC_GPU_FIELDS = ["hbmBytes", "hbmBandwidth", "scaleUpBandwidth", "scaleUpDomain", "nicBandwidth", "tdpWatts", "idleWatts", "smCount"] as const;
const PLAIN_GPU_FIELDS = ["vendor", "scaleUpKind", ...NUMERIC_GPU_FIELDS] as const;

const PLACEHOLDER_GPU: Accelerator = {
  name: "(invalid)",
  vendor: "",
  peakFlops: { bf16: 1 },
  hbmBytes: 1,
  hbmBandwidth: 1,
  scaleUpBandwidth: 1,
  scaleUpKind: "nvlink",
  scaleUpDomain: 8,
  nicBandwidth: 1,
  tdpWatts: 1,
  idleWatts: 0,
  smCount: 1,
  efficiency: { gemmPeakFraction: 1, hbmPeakFraction: 1, kernelLaunchSeconds: 0, attentionPeakFraction: 1 },
  sources: {},
};

function resolveGpu(value: unknown, written: Raw, file: string, problems: Problems): Accelerator | undefined {
  const t = tagged(value);
  if (t === undefined || problems.isInvalid("cluster.gpu")) return undefined;
  if (t.option === "catalog") {
    const entry = CATALOG[t.value as string];
    return entry === undefined ? undefined : structuredClone(entry);
  }
  const spec = t.value as Raw;
  const gpu = t.option === "override" ? overrideGpu(spec, file) : inlineGpu(spec, written, file);
  if (gpu === undefined) return undefined;
  const userSources = part(spec, "sources");
  for (const [k, v] of Object.entries(userSources)) if (typeof v === "string") gpu.sources[k] = v;

  if (Object.keys(gpu.peakFlops).length === 0) {
    problems.invalid("cluster.gpu.peakFlops", written["peakFlops"], `{} is not allowed; give at least one precision, e.g. {bf16: "989 TFLOP/s"}`);
  }
  if (gpu.idleWatts > gpu.tdpWatts) {
    const key = writtenKey(written, "idleWatts", ["idlePower"]);
    problems.invalid(
      `cluster.gpu.${key}`,
      written[key] ?? gpu.idleWatts,
      `${formatQuantity(gpu.idleWatts, "power")} is not allowed; idle power must not exceed the TDP ${formatQuantity(gpu.tdpWatts, "power")}`,
    );
  }
  return gpu;
}

function inlineGpu(spec: Raw, written: Raw, file: string): Accelerator {
  const here = `user-defined in ${file}`;
  const peakFlops = part(spec, "peakFlops") as Partial<Record<Precision, number>>;
  const efficiency = part(spec, "efficiency") as unknown as EfficiencyCalibration;
  const writtenEfficiency = part(written, "efficiency");
  const sources: Record<string, string> = {};
  for (const p of Object.keys(peakFlops)) sources[`peakFlops.${p}`] = here;
  const aliases: Readonly<Record<string, string>> = { tdpWatts: "tdp", idleWatts: "idlePower" };
  for (const f of NUMERIC_GPU_FIELDS) {
    const alias = aliases[f];
    const given = Object.hasOwn(written, f) || (alias !== undefined && Object.hasOwn(written, alias));
    sources[f] = given ? here : `trainsim default (not given in ${file})`;
  }
  for (const f of Object.keys(efficiency)) {
    sources[`efficiency.${f}`] = Object.hasOwn(writtenEfficiency, f) ? here : `trainsim default (not given in ${file})`;
  }
  if (Object.hasOwn(written, "hostCopyBandwidth")) sources["hostCopyBandwidth"] = here;
  return {
    name: stringAt(spec, "name", "custom-gpu"),
    vendor: stringAt(spec, "vendor", "custom"),
    peakFlops,
    hbmBytes: numberAt(spec, "hbmBytes", 1),
    hbmBandwidth: numberAt(spec, "hbmBandwidth", 1),
    scaleUpBandwidth: numberAt(spec, "scaleUpBandwidth", 1),
    scaleUpKind: stringAt(spec, "scaleUpKind", "nvlink"),
    scaleUpDomain: numberAt(spec, "scaleUpDomain", 8),
    nicBandwidth: numberAt(spec, "nicBandwidth", 1),
    tdpWatts: numberAt(spec, "tdpWatts", 1),
    idleWatts: numberAt(spec, "idleWatts", 0),
    smCount: numberAt(spec, "smCount", 1),
    ...(boolAt(spec, "mxfp8") === true ? { mxfp8: true } : {}),
    ...(typeof spec["hostCopyBandwidth"] === "number" ? { hostCopyBandwidth: spec["hostCopyBandwidth"] } : {}),
    efficiency,
    sources,
  };
}

function overrideGpu(spec: Raw, file: string): Accelerator | undefined {
  const baseName = stringAt(spec, "base", "");
  const entry = CATALOG[baseName];
  if (entry === undefined) return undefined;
  const gpu = structuredClone(entry) as Accelerator;
  const changed = `overridden in ${file}`;
  const g = gpu as unknown as Raw;
  for (const f of PLAIN_GPU_FIELDS) {
    if (spec[f] === undefined) continue;
    g[f] = spec[f];
    if (f !== "vendor" && f !== "scaleUpKind") gpu.sources[f] = changed;
  }
  for (const [p, v] of Object.entries(part(spec, "peakFlops"))) {
    (gpu.peakFlops as Raw)[p] = v;
    gpu.sources[`peakFlops.${p}`] = changed;
  }
  for (const [k, v] of Object.entries(part(spec, "efficiency"))) {
    (gpu.efficiency as unknown as Raw)[k] = v;
    gpu.sources[`efficiency.${k}`] = changed;
  }
  const mxfp8 = boolAt(spec, "mxfp8");
  if (mxfp8 !== undefined) gpu.mxfp8 = mxfp8;
  if (typeof spec["hostCopyBandwidth"] === "number") {
    gpu.hostCopyBandwidth = spec["hostCopyBandwidth"];
    gpu.sources["hostCopyBandwidth"] = changed;
  }
  gpu.name = stringAt(spec, "name", `${baseName}*`);
  return gpu;
}

/** The efficiency fields that give a GPU each backend's attention levels (attention-backend.ts swaps them in). */
const BACKEND_LEVELS: Readonly<Record<AttentionBackend, string>> = {
  cudnn: "cudnnAttentionPeakFraction and the other cudnn*",
  aotriton: "aotritonAttentionPeakFraction and aotritonAttentionBackwardPeakFraction",
  "flash-attention": "fa2AttentionPeakFraction and the other fa2*",
  "flash-attention-1": "fa2AttentionPeakFraction and the other fa2*",
};

/**
 * workload.attentionBackend as written, when the GPU has levels for it (models/hardware/attention-backend.ts);
 * undefined when absent, refused or the GPU is invalid.
 */
function attentionBackendFrom(workloadIn: Raw, gpu: Accelerator | undefined, problems: Problems): AttentionBackend | undefined {
  const backend = optionalString(workloadIn, "attentionBackend") as AttentionBackend | undefined;
  if (backend === undefined || gpu === undefined) return undefined;
  if (workloadIn["attention"] === "unfused") {
    problems.invalid("workload.attentionBackend", backend, `${showValue(backend)} is not allowed with attention: unfused; a flash-attention kernel needs attention: flash`);
    return undefined;
  }
  const have = attentionBackendsOf(gpu);
  if (!have.includes(backend)) {
    problems.invalid(
      "workload.attentionBackend",
      backend,
      `${showValue(backend)} is not allowed on ${gpu.name}: its catalog has no ${backend} attention measurement (give cluster.gpu.efficiency.${BACKEND_LEVELS[backend]} levels to add one); expected ${have.map(showValue).join(" or ")}`,
    );
    return undefined;
  }
  return backend;
}

// ---------------------------------------------------------------------------
// The model

const PLACEHOLDER_MODEL: ModelSpec = {
  name: "(invalid)",
  layers: 1,
  hidden: 1,
  heads: 1,
  kvHeads: 1,
  ffn: 1,
  vocab: 1,
  gatedMlp: false,
  experts: 1,
  topK: 1,
  tiedEmbeddings: true,
  positionEmbeddings: 0,
  dropout: false,
  bias: false,
  source: "",
};

/** The head width (workload/head-dim.ts) and attention and layer variants (workload/mla.ts, attention-variants.ts, mtp.ts): absent unless written. */
const VARIANT_FIELDS = ["headDim", "kvLoraRank", "qLoraRank", "qkRopeHeadDim", "qkNopeHeadDim", "vHeadDim", "slidingWindow", "slidingWindowPattern", "mtpLayers"] as const;

/** Optional MoE shape keys (models/workload/moe.ts). */
const MOE_MODEL_FIELDS = ["expertFfn", "sharedExperts", "denseLayers", "routerScoring", "expertGroups", "expertGroupsPerToken"] as const;
const MODEL_FIELDS = [...Object.keys(PLACEHOLDER_MODEL), ...MOE_MODEL_FIELDS, ...VARIANT_FIELDS] as (keyof ModelSpec)[];

function variantFields(spec: Raw): Partial<ModelSpec> {
  const out: Partial<Record<(typeof VARIANT_FIELDS)[number], number>> = {};
  for (const f of VARIANT_FIELDS) if (typeof spec[f] === "number") out[f] = spec[f];
  return out;
}

/** Keys that only mean something beside another: MLA's dims need kvLoraRank, a pattern needs a window. */
function checkVariants(m: ModelSpec, path: (key: string) => string, problems: Problems): void {
  if (m.kvLoraRank === undefined) {
    for (const f of ["qLoraRank", "qkRopeHeadDim", "qkNopeHeadDim", "vHeadDim"] as const) {
      if (m[f] !== undefined) problems.note(path(f), m[f], `${m[f]} is not allowed without ${path("kvLoraRank")}; the MLA head dims only apply to multi-head latent attention`);
    }
  }
  if (m.slidingWindowPattern !== undefined && m.slidingWindow === undefined) {
    problems.note(path("slidingWindowPattern"), m.slidingWindowPattern, `${m.slidingWindowPattern} is not allowed without ${path("slidingWindow")}; the pattern says which layers use the window`);
  }
}

interface ModelPaths {
  hidden: string;
  heads: string;
  kvHeads: string;
  topK: string;
  denseLayers: string;
}

const INLINE_PATHS: ModelPaths = {
  hidden: "workload.model.hidden",
  heads: "workload.model.heads",
  kvHeads: "workload.model.kvHeads",
  topK: "workload.model.topK",
  denseLayers: "workload.model.denseLayers",
};

/** The shape rules any model must meet; a problem here leaves the model usable for checkPlan's own checks. */
function checkShape(m: ModelSpec, paths: ModelPaths, problems: Problems): void {
  if (m.headDim === undefined && m.hidden % m.heads !== 0) {
    problems.note(paths.hidden, m.hidden, `${m.hidden} is not allowed; hidden must be a multiple of heads (${m.heads})`);
  }
  if (m.heads % m.kvHeads !== 0) {
    problems.note(paths.kvHeads, m.kvHeads, `${m.kvHeads} is not allowed; kvHeads must divide heads (${m.heads})`);
  }
  if (m.topK > m.experts) {
    problems.note(paths.topK, m.topK, `${m.topK} is not allowed; topK must be at most experts (${m.experts})`);
  }
  if (m.experts > 1 && (m.expertGroups === undefined) !== (m.expertGroupsPerToken === undefined)) {
    const [key, value] = m.expertGroups === undefined ? ["expertGroupsPerToken", m.expertGroupsPerToken] : ["expertGroups", m.expertGroups];
    problems.note(`workload.model.${key}`, value, `${value} is not allowed alone; give expertGroups and expertGroupsPerToken together`);
  } else if (m.experts > 1 && m.expertGroups !== undefined && m.expertGroupsPerToken !== undefined) {
    if (m.experts % m.expertGroups !== 0) problems.note("workload.model.expertGroups", m.expertGroups, `${m.expertGroups} is not allowed; expertGroups must divide experts (${m.experts})`);
    else if (m.expertGroupsPerToken > m.expertGroups) problems.note("workload.model.expertGroupsPerToken", m.expertGroupsPerToken, `${m.expertGroupsPerToken} is not allowed; expertGroupsPerToken must be at most expertGroups (${m.expertGroups})`);
  }
  if (m.experts > 1 && (m.denseLayers ?? 0) >= m.layers) {
    problems.note(paths.denseLayers, m.denseLayers, `${m.denseLayers} is not allowed; denseLayers must be below layers (${m.layers}) so that some layers are mixture-of-experts`);
  }
}

function resolveModel(value: unknown, baseDir: string, file: string, problems: Problems): ModelSpec | undefined {
  const t = tagged(value);
  if (t === undefined || problems.isInvalid("workload.model")) return undefined;
  if (t.option === "builtin") {
    const entry = BUILTIN_MODELS[t.value as string];
    return entry === undefined ? undefined : structuredClone(entry);
  }
  const spec = t.value as Raw;
  if (t.option === "hf") return hfModel(spec, baseDir, problems);
  let model: ModelSpec;
  if (t.option === "override") {
    const baseName = stringAt(spec, "base", "");
    const entry = BUILTIN_MODELS[baseName];
    if (entry === undefined) return undefined;
    model = structuredClone(entry);
    const changed = MODEL_FIELDS.filter((f) => f !== "name" && f !== "source" && spec[f] !== undefined);
    for (const f of changed) (model as unknown as Raw)[f] = spec[f];
    model.name = stringAt(spec, "name", `${baseName}*`);
    model.source = stringAt(spec, "source", `${entry.source}; overridden in ${file}: ${changed.join(", ")}`);
  } else {
    const hidden = numberAt(spec, "hidden", 1);
    const heads = numberAt(spec, "heads", 1);
    model = {
      name: stringAt(spec, "name", "custom"),
      layers: numberAt(spec, "layers", 1),
      hidden,
      heads,
      kvHeads: numberAt(spec, "kvHeads", heads),
      ffn: numberAt(spec, "ffn", 4 * hidden),
      vocab: numberAt(spec, "vocab", 1),
      gatedMlp: boolAt(spec, "gatedMlp") ?? false,
      experts: numberAt(spec, "experts", 1),
      topK: numberAt(spec, "topK", 1),
      tiedEmbeddings: boolAt(spec, "tiedEmbeddings") ?? true,
      positionEmbeddings: numberAt(spec, "positionEmbeddings", 0),
      dropout: boolAt(spec, "dropout") ?? false,
      bias: boolAt(spec, "bias") ?? false,
      source: stringAt(spec, "source", `user-defined in ${file}`),
      ...variantFields(spec),
    };
    // The MLP-side MoE keys only on MoE models (a dense model's shape stays as it was).
    if (model.experts > 1) for (const f of MOE_MODEL_FIELDS) if (spec[f] !== undefined) (model as unknown as Raw)[f] = spec[f];
  }
  checkShape(model, INLINE_PATHS, problems);
  checkVariants(model, (key) => `workload.model.${key}`, problems);
  return model;
}

function hfModel(spec: Raw, baseDir: string, problems: Problems): ModelSpec | undefined {
  const written = stringAt(spec, "hf", "");
  const path = "workload.model.hf";
  const file = resolve(baseDir, written);
  let config: unknown;
  const read = readInputFile(file);
  if ("error" in read) {
    problems.invalid(path, written, `${JSON.stringify(written)} cannot be read: ${read.error} (the path of a HuggingFace config.json, relative to the scenario file)`);
    return undefined;
  }
  try {
    config = JSON.parse(read.text.replace(/^\uFEFF/, "")) as unknown;
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    problems.invalid(path, written, `${JSON.stringify(written)} cannot be read as JSON (${reason}); expected the path of a HuggingFace config.json, relative to the scenario file`);
    return undefined;
  }
  if (!isPlainObject(config)) {
    problems.invalid(path, written, `${JSON.stringify(written)} holds ${showValue(config)}; expected a HuggingFace config.json object`);
    return undefined;
  }
  // "llama3-8b/config.json" is named for its folder; "llama3-8b.json" for itself.
  const stem = basename(file, extname(file));
  const name = stringAt(spec, "name", stem === "config" ? basename(dirname(file)) : stem);
  const { model, problems: found } = modelFromHfConfig(config, name);
  for (const p of found) {
    const where = `${path}:${p.key}`;
    const detail = p.message.startsWith(`${p.key}: `) ? p.message.slice(p.key.length + 2) : p.message;
    problems.push({ path: where, value: config[p.key], message: `${where}: ${detail}` }, false);
  }
  if (model === undefined) return undefined;
  const hfPaths: ModelPaths = {
    hidden: `${path}:hidden_size`,
    heads: `${path}:num_attention_heads`,
    kvHeads: `${path}:num_key_value_heads`,
    topK: `${path}:num_experts_per_tok`,
    denseLayers: `${path}:first_k_dense_replace`,
  };
  // modelFromHfConfig already checks kvHeads and topK; only the hidden/heads rule is left (head_dim lifts it).
  if (model.headDim === undefined && model.hidden % model.heads !== 0) checkShape({ ...model, kvHeads: model.heads, topK: 1, experts: 1 }, hfPaths, problems);
  return model;
}

/** workload.moe, only when written (absent: dropless, random routing). */
function moeRoutingFrom(workloadIn: Raw, problems: Problems): { moe?: MoeRoutingSpec } {
  if (!isPlainObject(workloadIn["moe"])) return {};
  const raw = workloadIn["moe"];
  const imbalance = part(raw, "imbalance");
  const capacityFactor = optionalNumber(raw, "capacityFactor");
  const gmmTileRows = optionalNumber(raw, "gmmTileRows");
  const gmmTileCols = optionalNumber(raw, "gmmTileCols");
  if (gmmTileCols !== undefined && gmmTileRows === undefined) {
    problems.invalid("workload.moe.gmmTileCols", gmmTileCols, "needs workload.moe.gmmTileRows: both describe Megablox's grouped matmuls");
  }
  const padToCapacity = boolAt(raw, "padToCapacity");
  if (padToCapacity === true && capacityFactor === undefined) {
    problems.invalid("workload.moe.padToCapacity", true, "true needs workload.moe.capacityFactor: an expert is padded up to its capacity (Megatron-Core asserts --moe-expert-capacity-factor with --moe-pad-expert-input-to-capacity)");
  }
  return {
    moe: {
      ...(capacityFactor !== undefined ? { capacityFactor } : {}),
      ...(padToCapacity === true && capacityFactor !== undefined ? { padToCapacity: true } : {}),
      ...(boolAt(raw, "routerPadding") === true ? { routerPadding: true } : {}),
      ...(boolAt(raw, "fp8PadAlways") === true ? { fp8PadAlways: true } : {}),
      ...(gmmTileRows !== undefined ? { gmmTileRows } : {}),
      ...(gmmTileCols !== undefined && gmmTileRows !== undefined ? { gmmTileCols } : {}),
      imbalance: { distribution: stringAt<MoeLoadDistribution>(imbalance, "distribution", "random"), spread: numberAt(imbalance, "spread", 0) },
    },
  };
}

/** cluster.network.torusShape: 2 or 3 dimensions of a torus slice whose chips divide the job's. */
function torusShapeFrom(networkIn: Raw, chips: number, problems: Problems): { torusShape?: number[] } {
  const shape = networkIn["torusShape"];
  if (!Array.isArray(shape)) return {};
  const path = "cluster.network.torusShape";
  const held = (shape as number[]).reduce((a, b) => a * b, 1);
  if (networkIn["topology"] !== "torus") problems.invalid(path, shape, `${showValue(shape)} is not allowed with network.topology ${showValue(networkIn["topology"] ?? "rail-optimized")}; a torus shape needs topology: torus`);
  else if (shape.length !== 2 && shape.length !== 3) problems.invalid(path, shape, `${showValue(shape)} has ${shape.length} dimensions; expected 2 or 3`);
  else if (chips % held !== 0) problems.invalid(path, shape, `${showValue(shape)} holds ${held} chips, which do not divide the job's ${chips}`);
  else return { torusShape: shape as number[] };
  return {};
}

/**
 * Communication-overlap keys (parallelism.tpCommOverlap, overlapP2P, cpCommType, cpLayout, cpRepeatKv, cpRingImplementation,
 * overlapParamGather), as written or the schema's defaults; tpCommOverlap needs sequence parallelism.
 */
function overlapFrom(raw: Raw, plan: ParallelPlan, problems: Problems): void {
  const tpOverlap = boolAt(raw, "tpCommOverlap");
  if (tpOverlap === true && plan.tp > 1 && !plan.sequenceParallel) {
    problems.invalid("parallelism.tpCommOverlap", true, "true is not allowed with sequenceParallel: false; the GEMMs overlap the sequence-parallel all-gathers and reduce-scatters (Megatron-LM requires --sequence-parallel with --tp-comm-overlap)");
  }
  if (tpOverlap !== undefined) plan.tpCommOverlap = tpOverlap;
  const collectiveMatmul = optionalString(raw, "tpCollectiveMatmul");
  if (collectiveMatmul === "one-way" || collectiveMatmul === "two-way") {
    if (plan.tp > 1 && !plan.sequenceParallel) problems.invalid("parallelism.tpCollectiveMatmul", collectiveMatmul, `${collectiveMatmul} is not allowed with sequenceParallel: false; XLA windows the all-gathers and reduce-scatters of activations sharded over the tensor axis`);
    else if (tpOverlap === true) problems.invalid("parallelism.tpCollectiveMatmul", collectiveMatmul, `${collectiveMatmul} is not allowed with tpCommOverlap: true; the one is XLA's overlap, the other Megatron-Core's: choose one`);
    else plan.tpCollectiveMatmul = collectiveMatmul;
  }
  const p2p = boolAt(raw, "overlapP2P");
  if (p2p !== undefined) plan.overlapP2P = p2p;
  const moeOverlap = optionalString(raw, "moeOverlap");
  if (moeOverlap === "shared-experts" || moeOverlap === "attention") plan.moeOverlap = moeOverlap;
  if (optionalString(raw, "moeDispatch") === "deepep") plan.moeDispatch = "deepep";
  const dispatchSms = optionalNumber(raw, "moeDispatchSms");
  if (dispatchSms !== undefined) plan.moeDispatchSms = dispatchSms;
  const paramGather = boolAt(raw, "overlapParamGather");
  if (paramGather !== undefined) plan.overlapParamGather = paramGather;
  const commType = optionalString(raw, "cpCommType");
  if (commType !== undefined) plan.cpCommType = commType as CpCommType;
  const layout = optionalString(raw, "cpLayout");
  if (layout !== undefined) plan.cpLayout = layout as CpLayout;
  if (boolAt(raw, "cpRepeatKv") === true) {
    if (plan.cpCommType === "a2a") plan.cpRepeatKv = true;
    else problems.invalid("parallelism.cpRepeatKv", true, `true needs cpCommType a2a (it is ${plan.cpCommType ?? "p2p"}): only the Ulysses all-to-alls carry the repeated K and V`);
  }
  const ring = optionalString(raw, "cpRingImplementation");
  if (ring !== undefined) {
    if ((plan.cpCommType ?? "p2p") === "p2p") plan.cpRingImplementation = ring as CpRingImplementation;
    else problems.invalid("parallelism.cpRingImplementation", ring, `${ring} needs cpCommType p2p (it is ${plan.cpCommType}): only the ring merges its blocks step by step`);
  }
}

/**
 * parallelism.recomputeModules (Megatron-Core --recompute-modules): only with recompute selective,
 * each module once, and only modules the model has and Megatron-Core accepts with the rest of the run.
 */
function recomputeModulesFrom(raw: Raw, plan: ParallelPlan, model: ModelSpec | undefined, workloadIn: Raw, layerImplementation: string, problems: Problems): void {
  const list = raw["recomputeModules"];
  if (!Array.isArray(list)) return;
  const path = "parallelism.recomputeModules";
  if (raw["remat"] !== undefined) {
    problems.invalid(path, list, `${showValue(list)} is not allowed with parallelism.remat: a remat policy names the tensors a fully recomputed layer keeps (MaxText), recomputeModules the modules recompute selective re-runs (Megatron-Core); give one of them`);
    return;
  }
  if (plan.recompute !== "selective") {
    problems.invalid(path, list, `${showValue(list)} is not allowed with recompute ${plan.recompute}; the modules say what recompute selective recomputes (Megatron-Core --recompute-granularity selective --recompute-modules), so set recompute: selective`);
    return;
  }
  const modules = list as RecomputeModule[];
  if (problems.repeated(path, modules)) return;
  if (model !== undefined) {
    const w = { precision: stringAt(workloadIn, "precision", "bf16"), fp8Recipe: stringAt(workloadIn, "fp8Recipe", "delayed"), layerImplementation };
    for (const [i, module] of modules.entries()) {
      const why = recomputeModulesProblem(module, model, plan, w);
      if (why !== null) problems.invalid(`${path}.${i}`, module, `${showValue(module)} is not allowed: ${why}`);
    }
  }
  plan.recomputeModules = modules;
}

/**
 * ZeRO/FSDP keys (parallelism.fsdpUnit, reshardAfterForward, fsdpPrefetch, fsdpPrefetchParams, shardGroup,
 * offloadOptimizer, offloadParams, offloadActivations): copied onto the plan only when written, so the
 * model's defaults stay in one place (models/workload/memory.ts, fsdpSettings).
 */
function shardingFrom(raw: Raw, written: Raw, plan: ParallelPlan, layers: number | undefined, dpKnown: boolean, problems: Problems): void {
  const unit = tagged(raw["fsdpUnit"]);
  if (unit?.option === "layers") {
    const n = unit.value as number;
    if (layers !== undefined && n > layers) problems.invalid("parallelism.fsdpUnit", n, `${n} is not allowed; expected "layer", "module" or a number of layers from 1 to the model's ${layers}`);
    plan.fsdpUnitLayers = n;
  } else if (unit?.option === "layer" && unit.value === "module") plan.fsdpModuleUnits = true;
  else if (unit?.option === "layer") plan.fsdpUnitLayers = 1;
  for (const key of ["fsdpMaxLiveParams", "fsdpMaxReuseParams", "fsdpPersistParams", "fsdpReduceBucketParams"] as const) {
    const n = optionalNumber(raw, key);
    if (n !== undefined) plan[key] = n;
  }
  const reshard = boolAt(raw, "reshardAfterForward");
  if (reshard !== undefined) plan.reshardAfterForward = reshard;
  const prefetch = optionalNumber(raw, "fsdpPrefetch");
  if (prefetch !== undefined) plan.fsdpPrefetch = prefetch;
  const prefetchParams = optionalNumber(raw, "fsdpPrefetchParams");
  if (prefetchParams !== undefined) plan.fsdpPrefetchParams = prefetchParams;
  const group = optionalNumber(raw, "shardGroup");
  if (group !== undefined) {
    if (dpKnown && !problems.isInvalid("parallelism.dp") && plan.dp % group !== 0) {
      const divisors = Array.from({ length: plan.dp }, (_, i) => i + 1).filter((d) => plan.dp % d === 0);
      const shown = divisors.length <= 12 ? divisors.join(", ") : `${divisors.slice(0, 12).join(", ")}, ...`;
      problems.invalid("parallelism.shardGroup", group, `${group} is not allowed; shardGroup must divide dp = ${plan.dp}: one of ${shown}`);
    }
    plan.shardGroup = group;
  }
  const fsdpLayout = raw["fsdpLayout"];
  if (fsdpLayout === "flat" || fsdpLayout === "per-parameter") plan.fsdpLayout = fsdpLayout;
  const gradSync = raw["fsdpGradSync"];
  if (gradSync === "every-micro-batch" || gradSync === "last-micro-batch") plan.fsdpGradSync = gradSync;
  const lossParallel = boolAt(raw, "lossParallel");
  if (lossParallel !== undefined) plan.lossParallel = lossParallel;
  const perOpSavesAttention = boolAt(raw, "perOpSavesAttention");
  if (perOpSavesAttention !== undefined) plan.perOpSavesAttention = perOpSavesAttention;
  const offloadOptimizer = boolAt(raw, "offloadOptimizer");
  if (offloadOptimizer !== undefined) plan.offloadOptimizer = offloadOptimizer;
  const offloadParams = boolAt(raw, "offloadParams");
  if (offloadParams === true && !problems.isInvalid("parallelism.zero") && plan.zero < 3) problems.invalid("parallelism.offloadParams", true, `true is not allowed with zero ${plan.zero}; parameter offload needs zero 3 (sharded parameters), or set offloadParams: false`);
  if (offloadParams !== undefined) plan.offloadParams = offloadParams;
  const offload = optionalNumber(raw, "offloadActivations");
  if (offload === undefined) return;
  if (offload <= 1) {
    plan.offloadActivationShare = offload;
  } else if (!Number.isInteger(offload) || (layers !== undefined && offload > layers)) {
    problems.invalid(
      "parallelism.offloadActivations",
      written["offloadActivations"],
      `${showValue(written["offloadActivations"])} is not allowed; expected a share of each stage's layers from 0 to 1 (e.g. 0.5 or "50 %") or a whole number of layers from 2 to the model's ${layers ?? "layers"}`,
    );
  } else {
    plan.offloadActivationLayers = offload;
  }
}

/** fsdpUnit: module (DeepSpeed's submodule fetching) is modelled for a single-stage dense model with standard attention. */
function moduleUnitProblems(model: ModelSpec, plan: ParallelPlan, problems: Problems): void {
  const why =
    plan.pp > 1 || plan.virtualStages > 1
      ? `pp ${plan.pp} with ${plan.virtualStages} virtual stage(s) (DeepSpeed's pipeline engine does not run ZeRO-3; expected pp 1)`
      : model.experts > 1
        ? "a MoE model (its expert modules are not traced)"
        : model.kvLoraRank !== undefined
          ? "multi-head latent attention (its modules are not traced)"
          : (model.mtpLayers ?? 0) > 0
            ? "multi-token prediction (its modules are not traced)"
            : undefined;
  if (why !== undefined) problems.invalid("parallelism.fsdpUnit", "module", `"module" is not allowed with ${why}; use "layer" or a number of layers`);
}

// ---------------------------------------------------------------------------
// Assembly

/** Keys checkPlan reads: if any of them is unusable, its verdict would be noise. */
const PLAN_INPUTS = [
  "cluster.gpu",
  "cluster.nodes",
  "cluster.gpusPerNode",
  "workload.model",
  "workload.seqLength",
  "workload.globalBatch",
  "workload.precision",
  ...["tp", "pp", "dp", "cp", "ep", "microBatch", "virtualStages", "firstStageLayers", "lastStageLayers"].map((k) => `parallelism.${k}`),
];

function build(input: unknown, opts: LoadOptions, problems: Problems, chain: readonly string[]): LoadedScenario {
  const file = opts.file ?? opts.name ?? "inline config";
  if (!isPlainObject(input)) {
    const what = input === null || input === undefined ? "the config is empty" : `${showValue(input)} is not allowed`;
    problems.invalid("", input, `${what}; expected a scenario: ${expected(scenarioSchema)}`);
    throw new ConfigError(problems.list, opts.file);
  }
  const merged = withPreset(withBases(input, opts.baseDir, chain, problems));
  const v = (validate(scenarioSchema, merged, "", problems) ?? {}) as Raw;
  const mergedCluster = part(merged, "cluster");

  const clusterIn = part(v, "cluster");
  const gpu = resolveGpu(clusterIn["gpu"], part(mergedCluster, "gpu"), file, problems) ?? PLACEHOLDER_GPU;
  const gpuValid = gpu !== PLACEHOLDER_GPU;
  const calibration = calibrationFrom(clusterIn, opts.baseDir, gpuValid ? gpu : undefined, problems);
  const nodes = numberAt(clusterIn, "nodes", 1);
  const gpusPerNode = numberAt(clusterIn, "gpusPerNode", 8);
  const networkIn = part(clusterIn, "network");
  const powerIn = part(clusterIn, "power");
  const gpuPowerLimit = optionalNumber(powerIn, "gpuPowerLimit");
  if (gpuValid && gpuPowerLimit !== undefined && (gpuPowerLimit > gpu.tdpWatts || gpuPowerLimit < gpu.idleWatts)) {
    const written = part(mergedCluster, "power")["gpuPowerLimit"];
    const shown = typeof written === "string" ? `${showValue(written)} (${formatQuantity(gpuPowerLimit, "power")})` : showValue(written);
    problems.invalid(
      "cluster.power.gpuPowerLimit",
      written,
      `${shown} is not allowed; expected a power between ${gpu.name}'s idle power ${formatQuantity(gpu.idleWatts, "power")} and its TDP ${formatQuantity(gpu.tdpWatts, "power")}`,
    );
  }
  const facilityCap = optionalNumber(powerIn, "facilityCap");
  const scaleUpProblem = gpuValid ? scaleUpTopologyProblem(gpu, gpusPerNode, defaultedString<ScaleUpTopologyRequest>(clusterIn, "scaleUpTopology", "cluster.scaleUpTopology")) : null;
  if (scaleUpProblem !== null) problems.invalid("cluster.scaleUpTopology", mergedCluster["scaleUpTopology"], scaleUpProblem);

  const workloadIn = part(v, "workload");
  const model = resolveModel(workloadIn["model"], opts.baseDir, file, problems) ?? PLACEHOLDER_MODEL;
  const precision = stringAt<Precision>(workloadIn, "precision", "bf16");
  if (precision === "fp8" && gpuValid && workloadIn["fp8Recipe"] === "mxfp8" && gpu.mxfp8 !== true) {
    const allowed = FP8_RECIPES.filter((r) => r !== "mxfp8");
    problems.invalid("workload.fp8Recipe", "mxfp8", `"mxfp8" is not allowed on ${gpu.name}: its tensor cores have no microscaling FP8 (Blackwell has); expected one of ${allowed.map((r) => `"${r}"`).join(", ")}`);
  }
  if (precision === "fp8" && workloadIn["fp8Attention"] === true && workloadIn["attention"] === "unfused") {
    problems.invalid("workload.fp8Attention", true, "true is not allowed with attention: unfused; FP8 attention is a fused kernel (attention: flash)");
  }

  const parallelIn = part(v, "parallelism");
  const tp = numberAt(parallelIn, "tp", 1);
  const pp = numberAt(parallelIn, "pp", 1);
  const cp = numberAt(parallelIn, "cp", 1);
  const ep = numberAt(parallelIn, "ep", 1);
  const gpus = nodes * gpusPerNode;
  let dp = optionalNumber(parallelIn, "dp");
  let dpGuessed = false;
  if (dp === undefined) {
    const inputsValid = !["cluster.nodes", "cluster.gpusPerNode", "parallelism.tp", "parallelism.pp", "parallelism.cp", "parallelism.dp"].some((p) => problems.isInvalid(p));
    if (inputsValid && gpus % (tp * pp * cp) !== 0) {
      problems.note(
        "parallelism.dp",
        undefined,
        `not given and cannot be derived: the cluster's ${nodes}·${gpusPerNode} = ${gpus} GPUs are not divisible by tp·pp·cp = ${tp}·${pp}·${cp} = ${tp * pp * cp}; set dp, or choose tp, pp and cp whose product divides ${gpus}`,
      );
      dpGuessed = true;
    }
    // A stand-in that keeps checkPlan's dp-independent verdicts meaningful.
    dp = dpGuessed ? ep : Math.max(1, Math.floor(gpus / (tp * pp * cp)));
  }
  const parallelism: ParallelPlan = {
    tp,
    pp,
    dp,
    cp,
    ep,
    microBatch: numberAt(parallelIn, "microBatch", 1),
    virtualStages: numberAt(parallelIn, "virtualStages", 1),
    zero: numberAt(parallelIn, "zero", 1) as ParallelPlan["zero"],
    recompute: stringAt<RecomputeMode>(parallelIn, "recompute", "none"),
    sequenceParallel: boolAt(parallelIn, "sequenceParallel") ?? tp > 1,
    overlapGradReduce: boolAt(parallelIn, "overlapGradReduce") ?? true,
    gradReduceDtype: stringAt(parallelIn, "gradReduceDtype", precision === "fp16" ? "fp16" : "fp32"),
    gradAccumulationFusion: boolAt(parallelIn, "gradAccumulationFusion") ?? true,
  };
  const expertTp = optionalNumber(parallelIn, "expertTp");
  if (expertTp !== undefined) parallelism.expertTp = expertTp;
  const firstStageLayers = optionalNumber(parallelIn, "firstStageLayers");
  const lastStageLayers = optionalNumber(parallelIn, "lastStageLayers");
  if (firstStageLayers !== undefined) parallelism.firstStageLayers = firstStageLayers;
  if (lastStageLayers !== undefined) parallelism.lastStageLayers = lastStageLayers;
  shardingFrom(parallelIn, part(merged, "parallelism"), parallelism, model === PLACEHOLDER_MODEL ? undefined : model.layers, !dpGuessed, problems);
  if (parallelism.fsdpModuleUnits === true && model !== PLACEHOLDER_MODEL) moduleUnitProblems(model, parallelism, problems);
  overlapFrom(parallelIn, parallelism, problems);
  const layerImplementation = stringAt<string>(workloadIn, "layerImplementation", "fused");
  recomputeModulesFrom(parallelIn, parallelism, model === PLACEHOLDER_MODEL ? undefined : model, workloadIn, layerImplementation, problems);
  offloadModulesFrom(parallelIn, parallelism, model === PLACEHOLDER_MODEL ? undefined : model, layerImplementation, problems);
  const padded = model === PLACEHOLDER_MODEL || problems.isInvalid("parallelism.tp") ? model.vocab : paddedVocab(model.vocab, numberAt(workloadIn, "vocabDivisibleBy", 128), tp);
  const paddedModel: ModelSpec = padded === model.vocab ? model : { ...model, vocab: padded, unpaddedVocab: model.vocab };
  const eager = layerImplementation === "eager";
  const eagerProblem = eager && model !== PLACEHOLDER_MODEL ? eagerLayerProblem(model, parallelism) : null;
  if (eagerProblem !== null) problems.invalid("workload.layerImplementation", "eager", `${showValue("eager")} is not allowed: ${eagerProblem}; expected fused`);
  rematFrom(parallelIn["remat"], parallelism, { recompute: part(merged, "parallelism")["recompute"], precision, attention: workloadIn["attention"], dropout: model.dropout, eager, offloadActivations: offloadsActivations(parallelism) }, problems);

  const attentionBackend = attentionBackendFrom(workloadIn, gpuValid ? gpu : undefined, problems);
  const normKernel = optionalString(workloadIn, "normKernel") as NormKernel | undefined;

  const runIn = part(v, "run");
  const duration = optionalNumber(runIn, "duration");
  const tokens = optionalNumber(runIn, "tokens");
  const scenario: LoadedScenario = {
    name: optionalString(v, "name") ?? opts.name ?? "scenario",
    seed: numberAt(v, "seed", 1),
    cluster: {
      gpu: withStatedKernels(gpu, attentionBackend, normKernel),
      nodes,
      gpusPerNode,
      gpuVariability: defaultedNumber(clusterIn, "gpuVariability", "cluster.gpuVariability"),
      scaleUpTopology: defaultedString<ScaleUpTopologyRequest>(clusterIn, "scaleUpTopology", "cluster.scaleUpTopology"),
      ...stragglersFrom(clusterIn, dpGuessed ? undefined : tp * pp * dp * cp, problems),
      ...(isPlainObject(clusterIn["placement"]) && typeof clusterIn["placement"]["segmentNodes"] === "number" ? { placement: { segmentNodes: clusterIn["placement"]["segmentNodes"] } } : {}),
      network: {
        topology: defaultedString<TopologyKind>(networkIn, "topology", "cluster.network.topology"),
        nicBandwidth: optionalNumber(networkIn, "nicBandwidth") ?? gpu.nicBandwidth,
        oversubscription: defaultedNumber(networkIn, "oversubscription", "cluster.network.oversubscription"),
        routing: defaultedString<"ecmp" | "dmodk">(networkIn, "routing", "cluster.network.routing"),
        flowsPerConnection: defaultedNumber(networkIn, "flowsPerConnection", "cluster.network.flowsPerConnection"),
        switchRadix: defaultedNumber(networkIn, "switchRadix", "cluster.network.switchRadix"),
        ...torusShapeFrom(networkIn, nodes * gpusPerNode, problems),
      },
      power: {
        ...(gpuPowerLimit !== undefined ? { gpuPowerLimit } : {}),
        ...(facilityCap !== undefined ? { facilityCap } : {}),
        pue: defaultedNumber(powerIn, "pue", "cluster.power.pue"),
        controllerInterval: defaultedNumber(powerIn, "controllerInterval", "cluster.power.controllerInterval"),
        ...optionalFields(powerIn, { rackCap: "rackCap" }),
        nodesPerRack: defaultedNumber(powerIn, "nodesPerRack", "cluster.power.nodesPerRack"),
        ...capScheduleFrom(powerIn, problems),
        ...(isPlainObject(powerIn["stagger"]) && typeof powerIn["stagger"]["groups"] === "number"
          ? { stagger: { groups: powerIn["stagger"]["groups"], offsetSeconds: typeof powerIn["stagger"]["offset"] === "number" ? powerIn["stagger"]["offset"] : 0 } }
          : {}),
        ...supplyFrom(powerIn),
        ...optionalFields(powerIn, { powerFloor: "powerFloor" }),
        nodeOverheadWatts: optionalNumber(powerIn, "nodeOverhead") ?? defaultNodeOverheadWatts(gpusPerNode, gpu.tdpWatts),
        ...optionalFields(powerIn, { pricePerKWh: "pricePerKWh", pricePerGpuHour: "pricePerGpuHour", carbonGramsPerKWh: "carbonGramsPerKWh" }),
        ...(isPlainObject(powerIn["storage"]) && typeof powerIn["storage"]["capacity"] === "number" && typeof powerIn["storage"]["power"] === "number"
          ? { storage: { capacityJoules: powerIn["storage"]["capacity"], powerWatts: powerIn["storage"]["power"] } }
          : {}),
      },
    },
    workload: {
      model: paddedModel,
      seqLength: numberAt(workloadIn, "seqLength", 1),
      globalBatch: numberAt(workloadIn, "globalBatch", 1),
      precision,
      attention: stringAt<AttentionKernel>(workloadIn, "attention", "flash"),
      ...(precision === "fp8" ? { fp8Recipe: stringAt<Fp8Recipe>(workloadIn, "fp8Recipe", "delayed"), fp8Attention: boolAt(workloadIn, "fp8Attention") ?? false } : {}),
      ...(workloadIn["masterWeights"] !== undefined ? { masterWeights: stringAt<MasterWeights>(workloadIn, "masterWeights", "fp32") } : {}),
      ...(stringAt<OptimizerImplementation>(workloadIn, "optimizerImplementation", "fused") === "foreach" ? { optimizerImplementation: "foreach" as const } : {}),
      ...(workloadIn["crossEntropy"] !== undefined ? { crossEntropy: stringAt<CrossEntropyKind>(workloadIn, "crossEntropy", "fused-fp32") } : {}),
      ...(workloadIn["lossChunks"] !== undefined ? { lossChunks: numberAt(workloadIn, "lossChunks", 1) } : {}),
      ...moeRoutingFrom(workloadIn, problems),
      ...(eager ? { layerImplementation: "eager" as const } : {}),
      ...(attentionBackend !== undefined ? { attentionBackend } : {}),
      ...(normKernel !== undefined ? { normKernel } : {}),
      ...(optionalString(workloadIn, "flashBackward") === "split" ? { flashBackward: "split" as const } : {}),
      ...(workloadIn["flashBlock"] !== undefined ? { flashBlock: numberAt(workloadIn, "flashBlock", 128) } : {}),
    },
    parallelism,
    run: { steps: numberAt(runIn, "steps", 1), ...(duration !== undefined ? { duration } : {}), ...(tokens !== undefined ? { tokens } : {}) },
  };
  const placement = gpuValid && !problems.isInvalid("cluster.placement.segmentNodes") && !problems.isInvalid("cluster.nodes") && !problems.isInvalid("cluster.gpusPerNode") ? placementProblem(scenario.cluster) : null;
  if (placement !== null) problems.invalid("cluster.placement.segmentNodes", part(mergedCluster, "placement")["segmentNodes"], placement);
  if (calibration !== undefined) scenario.cluster = calibratedCluster(scenario.cluster, calibration.file, calibration.shown);
  if (isPlainObject(v["reliability"])) {
    scenario.reliability = reliabilityFrom(v["reliability"], scenario.cluster.nodes, scenario.cluster.network.nicBandwidth);
  }
  if (isPlainObject(v["data"])) {
    const nodeStorage = scenario.reliability?.nodeStorageBandwidth;
    const ctx = { seqLength: scenario.workload.seqLength, vocab: model.vocab, globalBatch: scenario.workload.globalBatch, nicBandwidth: scenario.cluster.network.nicBandwidth, ...(nodeStorage !== undefined ? { nodeStorageBandwidth: nodeStorage } : {}) };
    const d = dataFrom(v["data"], part(merged, "data"), ctx, problems);
    if (d !== undefined) scenario.data = d;
  }
  const source = optionalString(v, "source");
  if (source !== undefined) scenario.source = source;
  if (isPlainObject(v["published"])) {
    const p = v["published"];
    const note = optionalString(p, "note");
    const categories = Array.isArray(p["categories"]) ? (p["categories"] as string[]) : undefined;
    const memory = optionalNumber(p, "memoryPerGpu");
    scenario.published = {
      metric: stringAt(p, "metric", ""),
      value: numberAt(p, "value", 0),
      ...(note !== undefined ? { note } : {}),
      ...(categories !== undefined ? { categories } : {}),
      ...(memory !== undefined ? { memoryBytesPerGpu: memory } : {}),
      ...(memory !== undefined ? { memoryMeasure: stringAt<"device" | "allocator">(p, "memoryMeasure", "device") } : {}),
    };
  }

  if (!PLAN_INPUTS.some((p) => problems.isInvalid(p))) {
    for (const p of checkPlan(scenario)) {
      // With dp underived, the checks that involve dp would only repeat the dp problem.
      if (dpGuessed && (p.path === "parallelism" || p.path === "workload.globalBatch")) continue;
      problems.push(p);
    }
  }
  if (problems.list.length > 0) throw new ConfigError(problems.list, opts.file);
  return scenario;
}

/** The GPU with the kernels the workload states it ran: its attention backend's levels, its norm kernel's shares of STREAM. */
function withStatedKernels(gpu: Accelerator, attentionBackend: AttentionBackend | undefined, normKernel: NormKernel | undefined): Accelerator {
  const g = attentionBackend !== undefined ? withAttentionBackend(gpu, attentionBackend) : gpu;
  return normKernel !== undefined ? withNormKernel(g, normKernel) : g;
}
