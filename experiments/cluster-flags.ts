/**
 * Which config `trainsim cluster` (and `trainsim run` given a cluster file) runs: whether
 * a file is a cluster file, and the file's config with command-line overrides applied.
 */
import { resolve } from "node:path";
import { PLACEMENT_POLICIES, SCHEDULER_POLICIES, type ClusterConfig } from "../models/cluster/types.ts";
import { readConfigFile } from "./config-file.ts";
import { ConfigError } from "./errors.ts";

/** True when a config file is a cluster file (a list of jobs or a trace) rather than one scenario. */
export function isClusterFile(file: string): boolean {
  const read = readConfigFile(resolve(file), file);
  if (!("value" in read) || typeof read.value !== "object" || read.value === null) return false;
  return ["jobs", "synthetic", "trace"].some((k) => k in (read.value as Record<string, unknown>));
}

function flagError(flag: string, value: string, allowed: readonly string[]): ConfigError {
  return new ConfigError([{ path: flag, value, message: `${flag}: ${JSON.stringify(value)} is not allowed; expected one of ${allowed.join(", ")}` }]);
}

/** The file's config with command-line overrides applied. */
export function withFlags(config: ClusterConfig, opts: { placement?: string; policy?: string; seed?: string }): ClusterConfig {
  let out = config;
  if (opts.placement !== undefined) {
    if (!(PLACEMENT_POLICIES as readonly string[]).includes(opts.placement)) throw flagError("--placement", opts.placement, PLACEMENT_POLICIES);
    const { compare, ...rest } = out;
    out = { ...rest, scheduler: { ...out.scheduler, placement: opts.placement as ClusterConfig["scheduler"]["placement"] }, ...(compare !== undefined && compare.key !== "placement" ? { compare } : {}) };
  }
  if (opts.policy !== undefined) {
    if (!(SCHEDULER_POLICIES as readonly string[]).includes(opts.policy)) throw flagError("--policy", opts.policy, SCHEDULER_POLICIES);
    if (out.scheduler.preemption && opts.policy !== "priority") {
      throw new ConfigError([{ path: "--policy", value: opts.policy, message: `--policy: ${JSON.stringify(opts.policy)} cannot preempt, but the file sets scheduler.preemption: true; use --policy priority` }]);
    }
    const { compare, ...rest } = out;
    out = { ...rest, scheduler: { ...out.scheduler, policy: opts.policy as ClusterConfig["scheduler"]["policy"] }, ...(compare !== undefined && compare.key !== "policy" ? { compare } : {}) };
  }
  if (opts.seed !== undefined) {
    const n = Number(opts.seed);
    if (!/^\s*\d+\s*$/.test(opts.seed) || !Number.isSafeInteger(n)) throw new ConfigError([{ path: "--seed", value: opts.seed, message: `--seed: ${JSON.stringify(opts.seed)} is not allowed; expected an integer >= 0` }]);
    out = { ...out, seed: n };
  }
  return out;
}
