/**
 * V8 allocates a function literal assigned straight to a property (`obj.f = () => …`) in
 * the old generation, taking it for a long-lived method. A closure made that way for each
 * step or each run of items dies young but is only found dead by a full collection; until
 * then it keeps its context, and all the step's objects it reaches, alive through every
 * minor collection, which copies and promotes them. On a 200-point sweep that was 60 MB
 * promoted and ~0.3 s of collector time per thread. The hot code makes such closures
 * with a call or a declaration instead (docs/performance.md, P32).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "../..");
const HOT = ["sim", "models", "experiments"];

/** `a.b = (x) => …`, `a.b = x => …`, `a[i] = async () => …`, `a.b = function …`. */
const ASSIGNED_LITERAL = /[\w$\])]\s*(?:\.[\w$]+|\[[^\]]+\])\s*=\s*(?:async\s+)?(?:\([^()]*\)\s*(?::\s*[^=()]+)?|[\w$]+)\s*=>|[\w$\])]\s*(?:\.[\w$]+|\[[^\]]+\])\s*=\s*(?:async\s+)?function\b/;

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return tsFiles(path);
    return e.name.endsWith(".ts") ? [path] : [];
  });
}

function offenders(text: string): number[] {
  const lines: number[] = [];
  text.split("\n").forEach((line, i) => {
    const code = line.replace(/\/\/.*$/, "");
    // Lines of block comments (which name the pattern to warn of it) are not code.
    if (/^\s*(\/\*|\*)/.test(code)) return;
    if (ASSIGNED_LITERAL.test(code)) lines.push(i + 1);
  });
  return lines;
}

describe("closures in the simulator's hot code", () => {
  it("the check finds the forms V8 puts in the old generation, and not the others", () => {
    expect(offenders("    run.step = () => this.advanceItems(run);")).toEqual([1]);
    expect(offenders("fluid.onSegment = (a, t0, t1, bottleneck) => {")).toEqual([1]);
    expect(offenders("handlers[k] = async (x: number): Promise<void> => {")).toEqual([1]);
    expect(offenders("this.done = function () {")).toEqual([1]);
    expect(offenders("o.f = x => x + 1;")).toEqual([1]);
    expect(offenders("const onSegment: SegmentListener = (a, t0) => {\nfluid.onSegment = onSegment;")).toEqual([]);
    expect(offenders("run.step = stepOf(this, run);\nconst w = x >= 0 ? 1 : 2;\nif (a.b === c) d();")).toEqual([]);
    expect(offenders("  private readonly solveHandler = (): void => this.solve();")).toEqual([]);
    expect(offenders(" * made with a call, not written `run.step = () => …`: V8 …")).toEqual([]);
  });

  it("no function literal is assigned straight to a property in sim/, models/ or experiments/", () => {
    const found = HOT.flatMap((d) => tsFiles(join(ROOT, d))).flatMap((f) => offenders(readFileSync(f, "utf8")).map((n) => `${relative(ROOT, f)}:${n}`));
    expect(found).toEqual([]);
  });
});
