import { describe, expect, it } from "vitest";
import { defaultSwingWindow, downsamplePower, largestSwing, type PowerSample } from "../../reports/charts/power.ts";
import seedrandom from "seedrandom";

/** O(n²) reference: every pair at most `window` apart. */
function bruteForce(samples: PowerSample[], window: number): number {
  let best = 0;
  for (let i = 0; i < samples.length; i++) {
    for (let j = i + 1; j < samples.length; j++) {
      const a = samples[i] as PowerSample;
      const b = samples[j] as PowerSample;
      if (b.time - a.time <= window) best = Math.max(best, Math.abs(b.watts - a.watts));
    }
  }
  return best;
}

describe("largestSwing", () => {
  // Hand-made: a ramp up, a plateau, a sharp 12 MW drop over 2 s (t 4 → 6), a slow 15 MW recovery over 10 s (t 6 → 16).
  const series: PowerSample[] = [
    { time: 0, watts: 12e6 },
    { time: 1, watts: 14e6 },
    { time: 2, watts: 17e6 },
    { time: 3, watts: 20e6 },
    { time: 4, watts: 20e6 },
    { time: 5, watts: 14e6 },
    { time: 6, watts: 8e6 },
    { time: 8, watts: 11e6 },
    { time: 10, watts: 14e6 },
    { time: 12, watts: 17e6 },
    { time: 14, watts: 20e6 },
    { time: 16, watts: 23e6 },
  ];

  it("finds the sharp drop within a 2 s window", () => {
    const s = largestSwing(series, 2);
    expect(s).not.toBeNull();
    expect(s?.kind).toBe("drop");
    expect(s?.deltaWatts).toBe(12e6);
    expect(s?.from).toEqual({ time: 4, watts: 20e6 });
    expect(s?.to).toEqual({ time: 6, watts: 8e6 });
  });

  it("finds the slow rise when the window covers it", () => {
    const s = largestSwing(series, 10);
    expect(s?.kind).toBe("rise");
    expect(s?.deltaWatts).toBe(15e6);
    expect(s?.from.time).toBe(6);
    expect(s?.to.time).toBe(16);
  });

  it("with a window shorter than any step, sees nothing", () => {
    expect(largestSwing(series, 0.5)).toBeNull();
    expect(largestSwing([{ time: 0, watts: 1 }], 10)).toBeNull();
    expect(largestSwing([{ time: 0, watts: 1 }, { time: 1, watts: 1 }], 10)).toBeNull();
  });

  it("agrees with the brute-force answer on random series", () => {
    const rng = seedrandom("swing");
    for (let trial = 0; trial < 50; trial++) {
      let t = 0;
      const s: PowerSample[] = Array.from({ length: 60 }, () => ({ time: (t += rng() * 2), watts: Math.round(rng() * 1000) }));
      const window = rng() * 10;
      expect(largestSwing(s, window)?.deltaWatts ?? 0).toBe(bruteForce(s, window));
    }
  });

  it("refuses samples out of time order", () => {
    expect(() => largestSwing([{ time: 1, watts: 1 }, { time: 0, watts: 2 }], 5)).toThrow(/time order/);
  });
});

describe("downsamplePower", () => {
  it("keeps each slot's peak and dip, in time order, within the budget", () => {
    const s: PowerSample[] = Array.from({ length: 10_000 }, (_, i) => ({ time: i * 1e-3, watts: i === 4321 ? 9e6 : i === 7000 ? 1e5 : 5e6 + (i % 7) * 1e3 }));
    const d = downsamplePower(s, 500);
    expect(d.length).toBeLessThanOrEqual(500);
    expect(Math.max(...d.map((x) => x.watts))).toBe(9e6);
    expect(Math.min(...d.map((x) => x.watts))).toBe(1e5);
    for (let i = 1; i < d.length; i++) expect((d[i] as PowerSample).time).toBeGreaterThan((d[i - 1] as PowerSample).time);
    expect(downsamplePower(s.slice(0, 10), 500)).toHaveLength(10);
  });
});

describe("power chart window", () => {
  it("marks a step's swing within 100 ms (as trainsim run quotes it), a long run's within 1 s or 5 % of the span", () => {
    expect(defaultSwingWindow(7.4)).toBe(0.1);
    expect(defaultSwingWindow(60)).toBe(0.1);
    expect(defaultSwingWindow(61)).toBeCloseTo(3.05, 12);
    expect(defaultSwingWindow(10)).toBe(0.1);
    expect(defaultSwingWindow(3600)).toBe(180);
  });
});
