/** Reliability settings for the long-run tests: no failures, synchronous checkpoints every 600 s. */
import { FAILURE_CLASSES } from "../../models/reliability/failure-rates.ts";
import type { FailureClass, FailureProcess, ReliabilitySpec } from "../../models/scenario.ts";

export const NO_FAILURES = Object.fromEntries(FAILURE_CLASSES.map((c) => [c, { ratePerHour: 0, distribution: "exponential" }])) as Record<FailureClass, FailureProcess>;

export function reliabilitySpec(over: Partial<ReliabilitySpec> = {}): ReliabilitySpec {
  return {
    checkpointInterval: 600,
    checkpointMode: "sync",
    nodeStorageBandwidth: 100e9,
    detectionTime: 60,
    restartTime: 600,
    spareNodes: 4,
    repairTime: 86400,
    failures: NO_FAILURES,
    ...over,
  };
}
