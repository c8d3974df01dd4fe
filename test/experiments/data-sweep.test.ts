/**
 * experiments/sweeps/video-data-bottleneck.yaml tells this story in its header: with storage
 * above the ~7.2 GB/s the step consumes, compute leads and data is 0; below it, data takes
 * over and the step is the step's bytes over the bandwidth.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { evaluatePoint } from "../../experiments/evaluate.ts";
import { expandPoints, loadExperiment, pointScenario } from "../../experiments/experiment.ts";
import { dominantCategory } from "../../models/categories.ts";
import type { RunResult } from "../../models/run.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Every point of a bundled sweep, evaluated (each must run), with its parameters. */
function sweepResults(file: string): { params: Record<string, unknown>; result: RunResult }[] {
  const exp = loadExperiment(join(ROOT, "experiments/sweeps", file));
  return expandPoints(exp).map((p) => {
    const r = evaluatePoint({ ...p, experiment: exp.name, scenario: pointScenario(exp, p), loadOptions: exp.loadOptions });
    expect(r.status, r.error).toBe("ok");
    return { params: p.params, result: r.result as RunResult };
  });
}

/** The points' results keyed by two of their parameters, "a/b". */
function byParams(file: string, a: string, b: string): Map<string, RunResult> {
  return new Map(sweepResults(file).map(({ params, result }) => [`${String(params[a])}/${String(params[b])}`, result]));
}

describe("video-data-bottleneck", () => {
  it("moves the bottleneck from compute to data as storage bandwidth falls", () => {
    const rows = sweepResults("video-data-bottleneck.yaml").map((p) => p.result);
    const first = rows[0] as RunResult;
    const last = rows[rows.length - 1] as RunResult;
    expect(dominantCategory(first.breakdown)).toBe("compute");
    expect(first.breakdown.data).toBe(0);
    expect(dominantCategory(last.breakdown)).toBe("data");
    // 1,024 samples × 64 frames × 100 kB = 6.5536 GB per step over 1 GB/s.
    expect(last.stepSeconds).toBeCloseTo(6.5536, 9);
    expect(last.data?.bottleneck).toBe("storage");
    for (let i = 1; i < rows.length; i++) {
      expect((rows[i] as RunResult).stepSeconds).toBeGreaterThanOrEqual((rows[i - 1] as RunResult).stepSeconds);
      expect((rows[i] as RunResult).breakdown.data).toBeGreaterThanOrEqual((rows[i - 1] as RunResult).breakdown.data);
    }
  }, 120_000);
});

describe("data-loader-workers", () => {
  it("without prefetch the step pays 3.2 s / workers of loading; with a queue of 2 none of it", () => {
    const byKey = byParams("data-loader-workers.yaml", "data.prefetch", "data.workers");
    const compute = (byKey.get("2/1") as RunResult).stepSeconds;
    for (const workers of [1, 4, 16]) {
      const queued = byKey.get(`2/${workers}`) as RunResult;
      expect(queued.stepSeconds).toBe(compute);
      expect(queued.breakdown.data).toBe(0);
      // 16 samples × 200 ms of CPU per loader, spread over its workers.
      const sync = byKey.get(`0/${workers}`) as RunResult;
      expect(sync.stepSeconds).toBeCloseTo(compute + 3.2 / workers, 9);
      expect(sync.data?.bottleneck).toBe("workers");
    }
  }, 120_000);
});

describe("checkpoint-data-contention", () => {
  it("charges each write's slower steps to the day: data grows with checkpoint frequency, 0 without the sharing", () => {
    const byKey = byParams("checkpoint-data-contention.yaml", "data.sharedWithCheckpoints", "reliability.checkpointInterval");
    const intervals = ["5 min", "15 min", "30 min", "1 h", "2 h"];
    let previous = Infinity;
    for (const i of intervals) {
      const alone = byKey.get(`false/${i}`) as RunResult;
      const shared = byKey.get(`true/${i}`) as RunResult;
      expect(alone.breakdown.data).toBe(0);
      expect(alone.longRun?.checkpointWrite).toBeUndefined();
      const lr = shared.longRun!;
      const during = shared.data!.duringCheckpoint!;
      // 112 GB at 10 GB/s alone; beside the reads longer, and the step during it longer still.
      expect(during.writeAloneSeconds).toBeCloseTo(11.2, 1);
      expect(during.writeSeconds).toBeGreaterThan(during.writeAloneSeconds);
      // Every write ends inside the day: the added time is the count times the per-write figure.
      expect(lr.checkpointWrite!.addedSeconds / (lr.checkpoint.count * during.addedSecondsPerCheckpoint)).toBeCloseTo(1, 6);
      expect(shared.breakdown.data).toBeCloseTo(lr.checkpointWrite!.dataShare, 12);
      expect(lr.tokensTrained).toBeLessThan(alone.longRun!.tokensTrained);
      expect(shared.breakdown.data).toBeLessThan(previous);
      previous = shared.breakdown.data;
    }
    // The header's figures: 3.0 % of the day every 5 min, 0.12 % every 2 h.
    expect((byKey.get("true/5 min") as RunResult).breakdown.data).toBeCloseTo(0.030, 3);
    expect((byKey.get("true/2 h") as RunResult).breakdown.data).toBeCloseTo(0.0012, 4);
  }, 120_000);
});
