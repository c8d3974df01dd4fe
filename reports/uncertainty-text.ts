/** The `run --uncertainty` lines of the text summary: the band, then the constants that move the step most. */
import type { UncertaintyResult } from "../models/uncertainty/analyse.ts";
import { group, percent } from "./format.ts";

/** Constants listed under "moves the step most" (all of them are in --json and the report's tornado). */
export const TORNADO_LINES = 5;

function signed(share: number): string {
  const shown = Math.abs(share * 100).toFixed(1);
  return `${shown === "0.0" ? "±" : share > 0 ? "+" : "−"}${shown} %`;
}

export function formatUncertainty(u: UncertaintyResult, stepSeconds: number): string {
  const s = u.stepSeconds;
  const t = u.tokensPerSecond;
  const m = u.mfu;
  const lines = [
    `uncertainty      ${u.samples} samples of ${u.constants.length} calibrated constants (Latin hypercube, seed ${u.seed}; docs/uncertainty.md)`,
    `  step time      p5 ${s.p5.toFixed(3)} s · p50 ${s.p50.toFixed(3)} s · p95 ${s.p95.toFixed(3)} s  (${signed(s.p5 / s.p50 - 1)} … ${signed(s.p95 / s.p50 - 1)} of the median)`,
    `  throughput     p5 ${group(Math.round(t.p5))} · p50 ${group(Math.round(t.p50))} · p95 ${group(Math.round(t.p95))} tokens/s`,
    `  MFU            p5 ${percent(m.p5)} · p50 ${percent(m.p50)} · p95 ${percent(m.p95)}`,
  ];
  const moving = u.sensitivity.filter((x) => x.lowStepSeconds !== stepSeconds || x.highStepSeconds !== stepSeconds).slice(0, TORNADO_LINES);
  if (moving.length > 0) {
    lines.push("moves the step most (each constant alone at the low / high end of its spread):");
    const width = Math.max(...moving.map((x) => x.path.length));
    for (const x of moving) {
      lines.push(`  ${x.path.padEnd(width)}  ${x.lowStepSeconds.toFixed(3)} s / ${x.highStepSeconds.toFixed(3)} s  (${signed(x.lowStepSeconds / stepSeconds - 1)} / ${signed(x.highStepSeconds / stepSeconds - 1)})`);
    }
  }
  return lines.join("\n");
}
