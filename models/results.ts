/**
 * The results that experiments/ produces and reports/ draws: sweep points (one JSON
 * object per point, one line each in results.jsonl) and validation rows. They live
 * below both so that reports never import experiments.
 */
import type { RunResult } from "./run.ts";

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

/** One published case of `trainsim validate`: what the simulator predicts against what the paper reports. */
export interface ValidationRow {
  name: string;
  file: string;
  source: string;
  metric: string;
  unit: string;
  published: number;
  predicted: number;
  /** (predicted − published) / published. */
  error: number;
  simulatedSeconds: number;
  /** The groups the case belongs to (published.categories), for per-category summaries. */
  categories: string[];
  /**
   * Set when the memory model says the plan does not fit: trainsim would refuse to run it.
   * predicted/error then come from simulating it anyway (as run --ignore-memory) and are
   * left out of the medians; the case counts as refused in its categories.
   */
  refused?: { memoryBytesPerGpu: number; capacityBytes: number; message: string };
  /** Set when the simulation threw: predicted and error are NaN (null in JSON). */
  failed?: string;
  /** Where the source states peak memory per GPU: predicted peak (largest stage) against it. */
  memory?: { published: number; predicted: number; error: number };
}
