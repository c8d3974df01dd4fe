/** What the cluster simulation tracks of one job while it runs (models/cluster/simulate.ts). */
import type { EventHandle } from "../../sim/event-queue.ts";
import type { JobTraffic, TrafficShape } from "./contention.ts";
import type { JobSegment, JobStatus, PreparedJob } from "./types.ts";

export interface JobState {
  p: PreparedJob;
  status: JobStatus;
  reason?: string;
  shape: TrafficShape;
  /** Cache key of the job's compact-placement reference. */
  signature: string;
  /** Highest GPU draw while running (alone or waiting on communication): what admission counts. */
  admissionWatts: number;
  progress: number;
  saved: number;
  runElapsed: number;
  lastUpdate: number;
  stepSeconds: number;
  multiplier: number;
  slowed: boolean;
  /** Its step stretched by other jobs' reads on its storage tier (storage-share.ts), and for how long. */
  storageSlowed: boolean;
  storageSlowedSeconds: number;
  /** Clock of its compute-bound phase set by the facility power controller (1: unthrottled). */
  clock: number;
  throttledSeconds: number;
  watts: number;
  placement: number[] | null;
  runId: number;
  traffic: JobTraffic | null;
  completion: EventHandle;
  lastStart: number;
  firstStart: number | null;
  end: number | null;
  queuedSince: number;
  queueSeconds: number;
  runSeconds: number;
  slowedSeconds: number;
  stepsExecuted: number;
  preemptions: number;
  lostSteps: number;
  segments: JobSegment[];
}
