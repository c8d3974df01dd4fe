import { describe, expect, it } from "vitest";
import { runScenario } from "../../models/run.ts";
import { buildTrace, traceJson } from "../../reports/trace.ts";
import { scenario } from "./fixtures.ts";

describe("Chrome/Perfetto trace", () => {
  it("is valid JSON: ranks as threads, spans as complete events in µs, power as counters", () => {
    const { step } = runScenario(scenario("gpt3-175b-1024"), { record: true });
    const counters = [
      { name: "power:facility", time: 0, value: 20e6 },
      { name: "power:facility", time: 0.5, value: 9e6 },
    ];
    const text = traceJson({ spans: step.spans, counters, processName: "gpt3 <175b>" });
    const trace = JSON.parse(text) as { traceEvents: Record<string, unknown>[]; displayTimeUnit: string };
    expect(trace.displayTimeUnit).toBe("ms");
    const events = trace.traceEvents;
    const complete = events.filter((e) => e["ph"] === "X");
    expect(complete).toHaveLength(step.spans.length);
    for (const e of complete.slice(0, 500)) {
      expect(typeof e["name"]).toBe("string");
      expect(typeof e["cat"]).toBe("string");
      expect(e["pid"]).toBe(1);
      expect(Number.isInteger(e["tid"])).toBe(true);
      expect(e["ts"] as number).toBeGreaterThanOrEqual(0);
      expect(e["dur"] as number).toBeGreaterThanOrEqual(0);
    }
    // µs: the last span ends at the step time.
    const end = Math.max(...complete.map((e) => (e["ts"] as number) + (e["dur"] as number)));
    expect(end / 1e6).toBeCloseTo(Math.max(...step.spans.map((s) => s.end)), 5);
    // One thread per track, named.
    const tracks = new Set(step.spans.map((s) => s.track));
    const names = events.filter((e) => e["ph"] === "M" && e["name"] === "thread_name");
    expect(names).toHaveLength(tracks.size);
    expect(new Set(names.map((e) => (e["args"] as { name: string }).name))).toEqual(tracks);
    expect(new Set(complete.map((e) => e["tid"])).size).toBe(tracks.size);
    // Categories are the bottleneck categories.
    expect(new Set(complete.map((e) => e["cat"]))).toEqual(new Set(step.spans.map((s) => s.category)));
    // Counters.
    const c = events.filter((e) => e["ph"] === "C");
    expect(c).toEqual([
      { name: "power:facility", ph: "C", pid: 1, ts: 0, args: { watts: 20e6 } },
      { name: "power:facility", ph: "C", pid: 1, ts: 500000, args: { watts: 9e6 } },
    ]);
    expect(events.find((e) => e["name"] === "process_name")?.["args"]).toEqual({ name: "gpt3 <175b>" });
  });

  it("orders tracks naturally (stage 2 before stage 10)", () => {
    const t = buildTrace({
      spans: [
        { track: "stage 10", name: "a", category: "compute", start: 0, end: 1 },
        { track: "stage 2", name: "b", category: "hbm", start: 0, end: 1 },
      ],
    });
    const threads = t.traceEvents.filter((e) => e.name === "thread_name").map((e) => [e.tid, (e.args as { name: string }).name]);
    expect(threads).toEqual([
      [1, "stage 2"],
      [2, "stage 10"],
    ]);
  });
});
