/**
 * A sweep worker thread: receives PointTasks, answers with each SweepPointResult as its results.jsonl line.
 * Started by runner.ts as a bundle of this module (sweep-worker-bundle.ts), or through
 * sweep-worker-boot.js, which registers tsx first, where bundling is not possible.
 */
import { parentPort } from "node:worker_threads";
import { evaluatePoint, type PointTask } from "./evaluate.ts";
import type { FromWorker } from "./runner.ts";
import { stableStringify } from "./stable-json.ts";

const port = parentPort;
if (port === null) throw new Error("experiments/sweep-worker.ts runs as a worker thread of experiments/runner.ts");
port.on("message", (task: PointTask) => {
  // Serialised here, in parallel, rather than on the main thread.
  port.postMessage({ type: "result", line: stableStringify(evaluatePoint(task)) } satisfies FromWorker);
});
port.postMessage({ type: "ready" } satisfies FromWorker);
