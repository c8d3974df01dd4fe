import { describe, expect, it } from "vitest";
import { RandomStreams, hash32 } from "../../sim/random.ts";

const draw = (s: { uniform(): number }, n: number): number[] => Array.from({ length: n }, () => s.uniform());

describe("seeded random streams", () => {
  it("same seed and name give the same numbers", () => {
    expect(draw(new RandomStreams(42).stream("failures"), 5)).toEqual(draw(new RandomStreams(42).stream("failures"), 5));
  });

  it("adding or drawing from another stream never changes a stream's numbers", () => {
    const a = new RandomStreams(42);
    const alone = draw(a.stream("failures"), 10);
    const b = new RandomStreams(42);
    draw(b.stream("jitter"), 1000);
    b.stream("ecmp");
    expect(draw(b.stream("failures"), 10)).toEqual(alone);
  });

  it("different seeds or names differ", () => {
    expect(draw(new RandomStreams(1).stream("x"), 3)).not.toEqual(draw(new RandomStreams(2).stream("x"), 3));
    expect(draw(new RandomStreams(1).stream("x"), 3)).not.toEqual(draw(new RandomStreams(1).stream("y"), 3));
  });

  it("pins the numbers, so a seed means the same run on any machine", () => {
    const s = new RandomStreams(1).stream("golden");
    expect(draw(s, 3).map((v) => v.toFixed(12))).toMatchInlineSnapshot(`
      [
        "0.088519011857",
        "0.709134642733",
        "0.898454863811",
      ]
    `);
  });

  it("distributions have the right means", () => {
    const s = new RandomStreams(3).stream("dist");
    const n = 200000;
    let e = 0;
    let w = 0;
    let g = 0;
    let g2 = 0;
    for (let i = 0; i < n; i++) {
      e += s.exponential(2);
      w += s.weibull(1, 5); // shape 1 = exponential with mean 5
      const x = s.normal(3, 2);
      g += x;
      g2 += x * x;
    }
    expect(e / n).toBeCloseTo(0.5, 2);
    expect(w / n).toBeCloseTo(5, 1);
    expect(g / n).toBeCloseTo(3, 1);
    expect(Math.sqrt(g2 / n - (g / n) ** 2)).toBeCloseTo(2, 1);
    for (let i = 0; i < 1000; i++) {
      const k = s.int(3, 7);
      expect(k).toBeGreaterThanOrEqual(3);
      expect(k).toBeLessThan(7);
    }
  });

  it("hash32 is the FNV-1a hash", () => {
    expect(hash32("")).toBe(0x811c9dc5);
    expect(hash32("a")).toBe(0xe40c292c);
  });
});
