/**
 * The shape of sweep results: one JSON object per point, one line each in
 * results.jsonl. Reports read only these types.
 */
import type { RunResult } from "../models/run.ts";

export interface SweepPoint {
  /** Position in the experiment's expanded point list (stable for a given experiment file). */
  index: number;
  seed: number;
  /** Swept dotted paths and their values as written in the experiment (e.g. "cluster.gpu.hbmBandwidth": "2 TB/s"). */
  params: Record<string, unknown>;
}

export interface SweepPointResult extends SweepPoint {
  experiment: string;
  status: "ok" | "invalid" | "failed";
  /** For invalid (bad config, out of memory) and failed points: why. */
  error?: string;
  result?: RunResult;
}
