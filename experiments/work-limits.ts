/**
 * What trainsim agrees to simulate: the work estimate (models/work-estimate.ts) against
 * limits on engine events (time) and memory (this machine's), checked before simulating.
 * The refusal names the keys that drive the estimate, the estimate and the limit
 * (docs/limits.md).
 */
import { totalmem } from "node:os";
import { getHeapStatistics } from "node:v8";
import type { Scenario } from "../models/scenario.ts";
import { chooseStepMode, type StepModeRequest } from "../models/step/symmetry.ts";
import { estimateWork, formatCount, longRunSecondsAtLeast, type WorkEstimate } from "../models/work-estimate.ts";
import { MAX_RUN_SECONDS } from "./schema.ts";

/** About 20 minutes of engine work on a slow core (a few µs per event). */
export const MAX_EVENTS = 2.5e8;

export interface WorkLimits {
  events: number;
  bytes: number;
  /** How the memory limit was set, for messages. */
  bytesFrom: string;
}

/** Half this machine's memory, and no more than V8's heap limit (beyond it Node aborts). */
export function workLimits(): WorkLimits {
  const half = totalmem() / 2;
  const heap = getHeapStatistics().heap_size_limit;
  return heap < half
    ? { events: MAX_EVENTS, bytes: heap, bytesFrom: "Node's heap limit" }
    : { events: MAX_EVENTS, bytes: half, bytesFrom: "half this machine's memory" };
}

const gb = (bytes: number): string => `${(bytes / 1e9).toFixed(1)} GB`;

/** Why simulating `s` is refused, or null when it fits. `record`: spans are kept (a report or a trace). */
export function workProblem(s: Scenario, request: StepModeRequest = "auto", limits: WorkLimits = workLimits(), record = false): string | null {
  if (s.reliability !== undefined && s.run.duration === undefined) {
    // As run.duration's bound: a target no step time can reach within ten years.
    const days = longRunSecondsAtLeast(s) / 86400;
    if (days > MAX_RUN_SECONDS / 86400) {
      const field = s.run.tokens !== undefined ? "run.tokens" : "run.steps";
      return `${field}: ${formatCount(s.run.tokens ?? s.run.steps)} takes at least ${formatCount(days)} d even with every GPU at its dense peak; expected a run of at most ${MAX_RUN_SECONDS / 86400} d (docs/limits.md)`;
    }
  }
  const mode = chooseStepMode(s, request).mode;
  const w: WorkEstimate = estimateWork(s, mode, record);
  const overEvents = w.events > limits.events;
  const overBytes = w.bytes > limits.bytes;
  if (!overEvents && !overBytes) return null;
  // The terms that matter: the largest share of whichever limit is exceeded.
  const share = (t: WorkEstimate["terms"][number]): number => Math.max(overEvents ? t.events / w.events : 0, overBytes ? t.bytes / w.bytes : 0);
  const big = w.terms.filter((t) => share(t) >= 0.1).sort((a, b) => share(b) - share(a));
  const fields = big.map((t) => `${t.fields}: ${t.count}`).join("; ");
  const what = [overEvents ? `${formatCount(w.events)} engine events (limit ${formatCount(limits.events)})` : "", overBytes ? `${gb(w.bytes)} of memory (limit ${gb(limits.bytes)}, ${limits.bytesFrom})` : ""]
    .filter((x) => x !== "")
    .join(" and ");
  return `too much work to simulate: about ${what}, driven by ${fields}; expected a smaller job (fewer GPUs, micro-batches or layers${mode === "full" ? ", or without --full" : ""}${s.reliability !== undefined ? ", or a shorter run" : ""}); see docs/limits.md`;
}
