// Issue 24: a long run reports its progress (for a line with an ETA on a terminal) without
// changing its results, and the line goes only to a terminal.
import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { simulateLongRun } from "../../models/reliability/long-run.ts";
import { loadScenario } from "../../experiments/load.ts";
import { terminalProgress } from "../../bin/progress.ts";

const LONG = loadScenario(join(import.meta.dirname, "../../experiments/published/llama3/405b-54d.yaml"));
const INPUT = { stepSeconds: 7, trainingWatts: 2.5e7, idleWatts: 8e6 };

describe("long-run progress", () => {
  it("reports rising shares up to 1 and leaves the result exactly as without it", () => {
    const shares: number[] = [];
    const quiet = simulateLongRun(LONG, INPUT, { logFailures: true });
    const watched = simulateLongRun(LONG, INPUT, { logFailures: true, onProgress: (f) => shares.push(f) });
    expect(watched).toEqual(quiet);
    expect(shares.length).toBeGreaterThan(150);
    expect(shares.length).toBeLessThanOrEqual(200);
    for (let i = 1; i < shares.length; i++) expect(shares[i]!).toBeGreaterThan(shares[i - 1]!);
    expect(shares[shares.length - 1]!).toBeLessThanOrEqual(1);
  });

  it("the same for a run to a step target (no duration)", () => {
    const target = { ...LONG, run: { steps: 100_000 } };
    const shares: number[] = [];
    expect(simulateLongRun(target, INPUT, { onProgress: (f) => shares.push(f) })).toEqual(simulateLongRun(target, INPUT));
    expect(shares.length).toBeGreaterThan(0);
    expect(Math.max(...shares)).toBeLessThanOrEqual(1);
  });

  it("prints a share and an ETA on a terminal only, then clears the line", () => {
    const written: string[] = [];
    const pipe = { isTTY: false, write: (t: string) => written.push(t) } as unknown as NodeJS.WriteStream;
    expect(terminalProgress("long run", pipe)).toBeUndefined();
    let clock = 0;
    const tty = { isTTY: true, write: (t: string) => written.push(t) } as unknown as NodeJS.WriteStream;
    const p = terminalProgress("long run", tty, () => clock)!;
    p.update(0.1); // within the first second: quiet
    clock = 10_000;
    p.update(0.25); // 10 s for a quarter: 30 s to go
    clock = 10_100;
    p.update(0.3); // too soon after the last line
    p.end();
    expect(written).toEqual(["\r\x1b[Klong run: 25 %, ETA 30s", "\r\x1b[K"]);
  });
});
