/**
 * Runs batches of sweep points for the planner on the sweep's worker threads (the same
 * worker bundle as `trainsim sweep`: load, memory check, simulate), or in this thread when
 * `threads` is 0. Each batch resolves with its results in task order, whichever thread ran
 * them, so the planner's decisions never depend on timing.
 */
import { Worker } from "node:worker_threads";
import type { SweepPointResult } from "../../models/results.ts";
import { evaluatePoint, type PointTask } from "../evaluate.ts";
import type { FromWorker } from "../runner.ts";
import { sweepWorkerEntry } from "../sweep-worker-bundle.ts";

export class PointPool {
  private workers: Worker[] = [];

  constructor(private readonly threads: number) {}

  private async start(): Promise<void> {
    if (this.workers.length > 0 || this.threads === 0) return;
    const entry = await sweepWorkerEntry();
    for (let i = 0; i < this.threads; i++) {
      this.workers.push(entry.kind === "bundle" ? new Worker(entry.code, { eval: true }) : new Worker(entry.url));
    }
  }

  async run(tasks: readonly PointTask[]): Promise<SweepPointResult[]> {
    if (this.threads === 0) return tasks.map(evaluatePoint);
    await this.start();
    const out = new Array<SweepPointResult | undefined>(tasks.length);
    let next = 0;
    await Promise.all(
      this.workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            let current = -1;
            const onMessage = (m: FromWorker): void => {
              if (m.type === "ready") return;
              out[current] = JSON.parse(m.line) as SweepPointResult;
              feed();
            };
            const onError = (err: Error): void => {
              cleanup();
              reject(err);
            };
            const cleanup = (): void => {
              w.off("message", onMessage);
              w.off("error", onError);
            };
            const feed = (): void => {
              if (next >= tasks.length) {
                cleanup();
                resolve();
                return;
              }
              current = next++;
              w.postMessage(tasks[current]);
            };
            w.on("message", onMessage);
            w.on("error", onError);
            feed();
          }),
      ),
    );
    return out as SweepPointResult[];
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers = [];
  }
}
