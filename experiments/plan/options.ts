/**
 * `trainsim plan` flags to search options: lists (--tp 1,2,4,8), --max-pp, --fix key=value,
 * --objective, --top. Bad input throws PlanInputError naming the flag, the value and what is
 * allowed (exit 2, before anything is simulated or written).
 */
import { parse as parseYaml } from "yaml";
import { pathProblem } from "../overrides.ts";
import { parseQuantity } from "../units.ts";
import type { RecomputeMode } from "../../models/scenario.ts";
import { scenarioSchema, type ObjectNode } from "../schema.ts";
import { ConfigError } from "../errors.ts";
import { OBJECTIVES, type Objective } from "./search.ts";
import type { SpaceLimits } from "./space.ts";

export class PlanInputError extends ConfigError {
  constructor(flag: string, value: unknown, message: string) {
    super([{ path: flag, value, message: `${flag} ${JSON.stringify(value)}: ${message}` }], "trainsim plan");
    this.name = "PlanInputError";
  }
}

const RECOMPUTE_CHOICES: readonly RecomputeMode[] = ["none", "selective", "full", "per-op"];
/** parallelism keys that are search dimensions: --fix narrows the dimension to one value. */
const SEARCHED = ["tp", "pp", "dp", "cp", "ep", "expertTp", "microBatch", "virtualStages", "zero", "shardGroup", "recompute"] as const;
/** parallelism keys the planner sets from the layout itself: --fix cannot set them. */
const DERIVED = ["firstStageLayers", "lastStageLayers", "sequenceParallel"] as const;

export function parsePositiveInt(flag: string, text: string, allowed = "an integer >= 1"): number {
  const n = Number(text);
  if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(n) || n < 1) throw new PlanInputError(flag, text, `is not allowed; expected ${allowed}`);
  return n;
}

/** "1,2,4,8" → [1, 2, 4, 8], sorted, duplicates removed. */
export function parseIntList(flag: string, text: string): number[] {
  const parts = text.split(",").map((p) => p.trim());
  if (parts.some((p) => p === "")) throw new PlanInputError(flag, text, "is not allowed; expected a comma-separated list of integers >= 1, e.g. 1,2,4,8");
  const values = parts.map((p) => parsePositiveInt(flag, p, "a comma-separated list of integers >= 1, e.g. 1,2,4,8"));
  return [...new Set(values)].sort((a, b) => a - b);
}

/** --memory-headroom: "10%" or 0.1, a share in [0, 0.5]; a percentage as the config's ratios read it (units.ts). */
export function parseHeadroom(text: string): number {
  const q = parseQuantity(text.includes("%") ? text : text.trim() === "" ? NaN : Number(text), "ratio");
  const share = typeof q === "number" ? q : NaN;
  if (!(share >= 0 && share <= 0.5)) throw new PlanInputError("--memory-headroom", text, "is not allowed; expected a share of each GPU's memory to leave free, from 0 to 50 %, e.g. 10% or 0.1");
  return share;
}

export function parseObjective(text: string): Objective {
  if (!(OBJECTIVES as readonly string[]).includes(text)) throw new PlanInputError("--objective", text, `is not allowed; expected one of ${OBJECTIVES.join(", ")}`);
  return text as Objective;
}

export interface Fixes {
  limits: SpaceLimits;
  dp?: number;
  /** Other parallelism keys, set on the scenario (and so on every layout). */
  overrides: Record<string, unknown>;
}

/** Applies the --fix key=value flags (in order) on top of `limits`. */
export function parseFixes(texts: readonly string[], limits: SpaceLimits): Fixes {
  const out: Fixes = { limits: { ...limits }, overrides: {} };
  const fields = (scenarioSchema.fields["parallelism"] as ObjectNode).fields;
  for (const text of texts) {
    const eq = text.indexOf("=");
    if (eq <= 0) throw new PlanInputError("--fix", text, "is not allowed; expected key=value, e.g. parallelism.cp=1");
    const rawKey = text.slice(0, eq).trim();
    const key = rawKey.startsWith("parallelism.") ? rawKey.slice("parallelism.".length) : rawKey;
    if (!Object.hasOwn(fields, key)) throw new PlanInputError("--fix", text, `${rawKey} is not allowed; expected a key of parallelism: (docs/scenario.md), e.g. parallelism.cp=1`);
    if ((DERIVED as readonly string[]).includes(key)) throw new PlanInputError("--fix", text, `parallelism.${key} is set by the planner from each layout (uneven split; sequence parallelism with tp > 1); expected one of ${SEARCHED.map((k) => `parallelism.${k}`).join(", ")} or another parallelism key`);
    let value: unknown;
    try {
      value = parseYaml(text.slice(eq + 1));
    } catch {
      value = text.slice(eq + 1);
    }
    if ((SEARCHED as readonly string[]).includes(key)) {
      if (key === "recompute") {
        if (typeof value !== "string" || !(RECOMPUTE_CHOICES as readonly string[]).includes(value)) throw new PlanInputError("--fix", text, `is not allowed; expected parallelism.recompute= one of ${RECOMPUTE_CHOICES.join(", ")}`);
        out.limits.recompute = [value as RecomputeMode];
        continue;
      }
      const n = value as number;
      const min = key === "zero" ? 0 : 1;
      if (typeof value !== "number" || !Number.isSafeInteger(n) || n < min || (key === "zero" && n > 3)) {
        throw new PlanInputError("--fix", text, `is not allowed; expected parallelism.${key}= ${key === "zero" ? "0, 1, 2 or 3" : "an integer >= 1"}`);
      }
      if (key === "dp") out.dp = n;
      else if (key === "zero") out.limits.zero = [n as 0 | 1 | 2 | 3];
      else if (key === "tp") out.limits.tp = [n];
      else if (key === "pp") out.limits.pp = [n];
      else if (key === "cp") out.limits.cp = [n];
      else if (key === "ep") out.limits.ep = [n];
      else if (key === "expertTp") out.limits.expertTp = [n];
      else if (key === "microBatch") out.limits.microBatch = [n];
      else if (key === "virtualStages") out.limits.virtualStages = [n];
      else if (key === "shardGroup") out.limits.shardGroup = [n];
      continue;
    }
    out.overrides[key] = value;
  }
  return out;
}

/** --vary cluster.<key>=a,b,...: one cluster key and the values to search at, each as written and as parsed. */
export interface Vary {
  key: string;
  values: { text: string; value: unknown }[];
}

/** Cluster keys --vary refuses, and what to use instead. */
const NOT_VARIED: Readonly<Record<string, string>> = {
  "cluster.nodes": "use --scale with the GPU counts (whole nodes)",
  "cluster.preset": "vary the keys the preset sets (cluster.gpu, cluster.network.*), or give one scenario per preset",
  "cluster.calibration": "give one scenario per calibration file",
};

export function parseVary(text: string): Vary {
  const eq = text.indexOf("=");
  if (eq <= 0) throw new PlanInputError("--vary", text, "is not allowed; expected cluster.<key>=<value>,<value>,..., e.g. cluster.network.oversubscription=1,2,4");
  const key = text.slice(0, eq).trim();
  if (!key.startsWith("cluster.")) throw new PlanInputError("--vary", text, `${key} is not allowed; expected a key of cluster: (docs/scenario.md), e.g. cluster.gpu=H100-SXM,B200 or cluster.network.nicBandwidth=200 Gb/s,400 Gb/s`);
  const problem = pathProblem(key);
  if (problem !== undefined) throw new PlanInputError("--vary", text, problem);
  const instead = NOT_VARIED[key];
  if (instead !== undefined) throw new PlanInputError("--vary", text, `${key} is not allowed; ${instead}`);
  const texts = text.slice(eq + 1).split(",").map((v) => v.trim());
  if (texts.some((v) => v === "")) throw new PlanInputError("--vary", text, "is not allowed; expected a comma-separated list of values after =, e.g. cluster.network.oversubscription=1,2,4");
  if (new Set(texts).size !== texts.length) throw new PlanInputError("--vary", text, "repeats a value; expected each value once");
  return {
    key,
    values: texts.map((t) => {
      try {
        return { text: t, value: parseYaml(t) as unknown };
      } catch {
        return { text: t, value: t };
      }
    }),
  };
}

