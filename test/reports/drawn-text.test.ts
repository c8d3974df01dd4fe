// Issue 24: user text on the terminal and in charts (reports/format.ts, reports/vega-safe.ts).
import { describe, expect, it } from "vitest";
import { DRAWN_TEXT_LIMIT, drawnText, formatParamValue, terminalText } from "../../reports/format.ts";
import { TITLE_TEXT_LIMIT, vegaSafeSpec } from "../../reports/vega-safe.ts";
import { drawnLabels } from "../../reports/charts/common.ts";
import { bottleneckShiftData } from "../../reports/charts/bottleneck-shift.ts";
import type { SweepPointResult } from "../../models/results.ts";
import { hbmSweep } from "./fixtures.ts";

describe("terminalText", () => {
  it("shows C0/C1 controls, DEL, bidi controls and line separators as escapes; keeps newline, tab and ordinary text", () => {
    expect(terminalText("a\u001b]0;t\u0007\u001b[2Jb")).toBe(String.raw`a\x1b]0;t\x07\x1b[2Jb`);
    expect(terminalText("\u202Eexe.\u2066\u2069\u200F\u061C")).toBe(String.raw`\u202eexe.\u2066\u2069\u200f\u061c`);
    expect(terminalText("x\u007F\u0085\u2028\u2029\r\u0000")).toBe(String.raw`x\x7f\x85\u2028\u2029\x0d\x00`);
    expect(terminalText("line 1\n\tµs · 3.35 TB/s — ü 日本")).toBe("line 1\n\tµs · 3.35 TB/s — ü 日本");
  });
});

describe("drawnText", () => {
  it("caps at DRAWN_TEXT_LIMIT characters with an ellipsis, and escapes newlines too", () => {
    expect(DRAWN_TEXT_LIMIT).toBe(100);
    const drawn = drawnText("x".repeat(100_000));
    expect(drawn).toBe(`${"x".repeat(99)}…`);
    expect(drawnText("x".repeat(100))).toBe("x".repeat(100));
    expect(drawnText("a\nb\u2028")).toBe(String.raw`a\x0ab\u2028`);
    // Never half a surrogate pair.
    expect(drawnText(`${"x".repeat(98)}😀😀`)).toBe(`${"x".repeat(98)}…`);
  });

  it("a point that does not set a swept key is labelled (base)", () => {
    expect(formatParamValue("workload.globalBatch", undefined)).toBe("(base)");
  });
});

describe("vegaSafeSpec", () => {
  it("escapes every string the same way (data and sort orders still match) and caps titles, not data", () => {
    const long = "t".repeat(500);
    const spec = vegaSafeSpec({ title: { text: long, subtitle: [long] }, data: { values: [{ x: "a\u2028b", title: long }] }, encoding: { x: { field: "x", sort: ["a\u2028b"] } } });
    expect(spec.data.values[0]).toEqual({ x: String.raw`a\u2028b`, title: long });
    expect(spec.encoding.x.sort).toEqual([String.raw`a\u2028b`]);
    expect(spec.title.text).toHaveLength(TITLE_TEXT_LIMIT);
    expect(spec.title.subtitle[0]).toBe(`${"t".repeat(TITLE_TEXT_LIMIT - 1)}…`);
    const plain = { title: "Where the step time goes", data: { values: [{ x: "2 TB/s", n: 1 }] } };
    expect(vegaSafeSpec(plain)).toEqual(plain);
  });
});

describe("drawnLabels", () => {
  it("keeps long values that share their first 100 characters apart; equal values stay equal", () => {
    const a = `${"p".repeat(150)}a`;
    const b = `${"p".repeat(150)}b`;
    const labels = drawnLabels([a, b, a, "2 TB/s"]);
    expect(labels[0]).toBe(`${"p".repeat(99)}…`);
    expect(labels[1]).toBe(`${"p".repeat(95)}… (2)`);
    expect(labels[2]).toBe(labels[0]);
    expect(labels[3]).toBe("2 TB/s");
    expect(Math.max(...labels.map((l) => l.length))).toBeLessThanOrEqual(100);
  });

  it("bottleneck-shift draws two such values as two bars", () => {
    const [one, two] = hbmSweep(["1 TB/s", "2 TB/s"]) as [SweepPointResult, SweepPointResult];
    const data = bottleneckShiftData([
      { ...one, params: { description: `${"p".repeat(150)}a` } },
      { ...two, params: { description: `${"p".repeat(150)}b` } },
    ]);
    expect(new Set(data.points.map((p) => p.x)).size).toBe(2);
  });
});
