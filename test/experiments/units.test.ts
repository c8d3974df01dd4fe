import { describe, expect, it } from "vitest";
import { formatQuantity, parseQuantity, quantityPattern, type Dimension } from "../../experiments/units.ts";

describe("parseQuantity", () => {
  const table: [unknown, Dimension, number][] = [
    // bandwidth: bytes/s, bits are divided by 8
    ["400 Gb/s", "bandwidth", 5e10],
    ["200 Gbps", "bandwidth", 2.5e10],
    ["3.35 TB/s", "bandwidth", 3.35e12],
    ["900 GB/s", "bandwidth", 9e11],
    ["25 GB/s", "bandwidth", 2.5e10],
    ["1 GiB/s", "bandwidth", 2 ** 30],
    ["100Mb/s", "bandwidth", 1.25e7],
    [5e10, "bandwidth", 5e10],
    // bytes: decimal and binary
    ["80 GiB", "bytes", 85899345920],
    ["141 GB", "bytes", 141e9],
    ["512 MiB", "bytes", 536870912],
    ["1 TiB", "bytes", 2 ** 40],
    ["2 kB", "bytes", 2000],
    ["1.5e3 GB", "bytes", 1.5e12],
    ["4096", "bytes", 4096],
    // power
    ["700 W", "power", 700],
    ["1.2 kW", "power", 1200],
    ["30 MW", "power", 3e7],
    ["1 GW", "power", 1e9],
    // time
    ["54 d", "time", 4665600],
    ["30 min", "time", 1800],
    ["2 h", "time", 7200],
    ["10 ms", "time", 0.01],
    ["3 us", "time", 3e-6],
    ["3 µs", "time", 3e-6],
    ["3 μs", "time", 3e-6],
    ["250 ns", "time", 2.5e-7],
    ["1.25 s", "time", 1.25],
    [0.5, "time", 0.5],
    // flops
    ["989 TFLOP/s", "flops", 9.89e14],
    ["2 PFLOP/s", "flops", 2e15],
    ["312e12", "flops", 3.12e14],
    ["1979 TFLOPS", "flops", 1.979e15],
    // energy
    ["1 kWh", "energy", 3.6e6],
    ["3.6 MJ", "energy", 3.6e6],
    ["2 MWh", "energy", 7.2e9],
    ["5 J", "energy", 5],
    // plain numbers
    [8, "count", 8],
    [1.2, "ratio", 1.2],
    [0, "ratio", 0],
    // a ratio as a percentage
    ["70 %", "ratio", 0.7],
    ["12.5%", "ratio", 0.125],
  ];

  it.each(table)("%j as %s is %d", (value, dimension, expected) => {
    expect(parseQuantity(value, dimension)).toBe(expected);
  });

  const rejected: [unknown, Dimension, RegExp][] = [
    ["400 Gbit/s", "bandwidth", /^"400 Gbit\/s" is not a bandwidth; use a number in bytes\/s or a string like "400 Gb\/s", "50 GB\/s", "3\.35 TB\/s"/],
    ["5 gb/s", "bandwidth", /case-sensitive.*did you mean "GB\/s" or "Gb\/s"\?/],
    ["400 Gb", "bytes", /is not a size in bytes.*did you mean "GB"/],
    ["5 mW", "power", /did you mean "MW"\?/],
    ["10 Ms", "time", /did you mean "ms"\?/],
    ["5 ms", "power", /"ms" is a unit of a duration/],
    [-3, "power", /^-3 is not allowed; expected a non-negative value/],
    ["-3 W", "power", /^"-3 W" is not allowed; expected a non-negative value/],
    [Number.NaN, "time", /^NaN is not a duration/],
    [Number.POSITIVE_INFINITY, "bytes", /^Infinity is not a size in bytes/],
    ["Infinity", "bytes", /is not a size in bytes/],
    ["1e999 GB", "bytes", /too large/],
    ["fast", "bandwidth", /^"fast" is not a bandwidth; use a number in bytes\/s/],
    ["", "time", /^"" is not a duration/],
    [true, "power", /^true is not a power; use a number in W or a string like "700 W"/],
    [{ value: 3 }, "power", /^an object is not a power/],
    [[1, 2], "time", /^a list is not a duration/],
    [null, "flops", /^null is not a compute rate/],
    ["8", "count", /^"8" is not a count \(write it without quotes\); use a plain number/],
    ["1.2 W", "ratio", /is not a number/],
    ["0.7", "ratio", /^"0.7" is not a number \(write it without quotes\); use a plain number, e.g. 1, 1.2, or a percentage like "70 %"/],
    ["1,000 W", "power", /is not a power/],
    ["3 TB/s/s", "bandwidth", /is not a bandwidth/],
  ];

  it.each(rejected)("rejects %j as %s", (value, dimension, message) => {
    const result = parseQuantity(value, dimension);
    expect(typeof result).toBe("object");
    expect((result as { error: string }).error).toMatch(message);
  });

  it("every rejection says what is allowed", () => {
    for (const [value, dimension] of rejected) {
      const { error } = parseQuantity(value, dimension) as { error: string };
      expect(error).toMatch(/use a (number in|plain number)/);
    }
  });
});

describe("formatQuantity", () => {
  const shown: [number, Dimension, string][] = [
    [3.35e12, "bandwidth", "3.35 TB/s"],
    [5e10, "bandwidth", "50 GB/s"],
    [85899345920, "bytes", "80 GiB"],
    [85.9e9, "bytes", "85.9 GB"],
    [85899345921, "bytes", "85.9 GB"],
    [128000, "bytes", "128 kB"],
    [1024, "bytes", "1 KiB"],
    [141 * 2 ** 30, "bytes", "141 GiB"],
    [700, "power", "700 W"],
    [3e7, "power", "30 MW"],
    [1.25, "time", "1.25 s"],
    [4665600, "time", "54 d"],
    [1800, "time", "30 min"],
    [7200, "time", "2 h"],
    [0.01, "time", "10 ms"],
    [3e-6, "time", "3 us"],
    [0, "time", "0 s"],
    [9.894e14, "flops", "989.4 TFLOP/s"],
    [2e15, "flops", "2 PFLOP/s"],
    [3.6e6, "energy", "3.6 MJ"],
    [8, "count", "8"],
  ];

  it.each(shown)("%d as %s reads %s", (x, dimension, text) => {
    expect(formatQuantity(x, dimension)).toBe(text);
  });

  it("round-trips through parseQuantity exactly", () => {
    const values: [number, Dimension][] = [
      [3.35e12, "bandwidth"],
      [5e10, "bandwidth"],
      [4.8e12, "bandwidth"],
      [85899345920, "bytes"],
      [141 * 2 ** 30, "bytes"],
      [2e9, "bytes"],
      [700, "power"],
      [3e7, "power"],
      [1.25, "time"],
      [4665600, "time"],
      [1800, "time"],
      [0.01, "time"],
      [2.7e-6, "time"],
      [9.894e14, "flops"],
      [1.9789e15, "flops"],
      [3.6e6, "energy"],
    ];
    for (const [x, dimension] of values) expect(parseQuantity(formatQuantity(x, dimension), dimension)).toBe(x);
  });
});

describe("quantityPattern", () => {
  it("accepts in JSON Schema exactly the strings parseQuantity accepts", () => {
    const samples: [string, Dimension][] = [
      ["400 Gb/s", "bandwidth"],
      ["400 Gbit/s", "bandwidth"],
      ["3.35TB/s", "bandwidth"],
      ["80 GiB", "bytes"],
      ["80 gib", "bytes"],
      ["312e12", "flops"],
      ["-3 W", "power"],
      ["5 µs", "time"],
      ["30 m", "time"],
      ["1 kWh", "energy"],
      ["fast", "power"],
    ];
    for (const [text, dimension] of samples) {
      const accepted = typeof parseQuantity(text, dimension) === "number";
      expect(new RegExp(quantityPattern(dimension), "u").test(text), `${text} as ${dimension}`).toBe(accepted);
    }
  });
});
