/**
 * Quantities with units ("3.35 TB/s", "80 GiB", "30 min") to SI base numbers and back.
 * This is the one place text units are understood; everything past the schema is SI.
 */

export type Dimension = "bytes" | "bandwidth" | "power" | "time" | "flops" | "energy" | "count" | "ratio";

/**
 * A unit's value is mantissa·10^exp10·factor. Keeping the power of ten apart lets
 * "3.35 TB/s" parse to exactly the double 3.35e12 (decimal shift, not a float multiply).
 */
interface Unit {
  exp10: number;
  factor: number;
}

interface DimensionInfo {
  /** "a bandwidth", used in messages. */
  noun: string;
  /** What a plain number means. */
  base: string;
  examples: readonly string[];
  units: Readonly<Record<string, Unit>>;
  /** Units formatQuantity picks from, ascending. */
  display: readonly string[];
}

const u = (exp10: number, factor = 1): Unit => ({ exp10, factor });

const DECIMAL = { k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 } as const;
const BINARY = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50 } as const;

function family(suffix: string, prefixes: Partial<Record<keyof typeof DECIMAL, number>>, factor = 1): Record<string, Unit> {
  const out: Record<string, Unit> = { [suffix]: u(0, factor) };
  for (const [p, e] of Object.entries(prefixes)) out[p + suffix] = u(e, factor);
  return out;
}

function binaryFamily(suffix: string): Record<string, Unit> {
  const out: Record<string, Unit> = {};
  for (const [p, e] of Object.entries(BINARY)) out[p + suffix] = u(0, 2 ** e);
  return out;
}

const UPTO_P = { k: 3, M: 6, G: 9, T: 12, P: 15 };
const UPTO_G = { k: 3, M: 6, G: 9 };

export const DIMENSIONS: Readonly<Record<Dimension, DimensionInfo>> = {
  bytes: {
    noun: "a size in bytes",
    base: "bytes",
    examples: ["80 GiB", "141 GB", "512 MiB"],
    units: { ...family("B", UPTO_P), ...binaryFamily("B") },
    display: ["B", "kB", "MB", "GB", "TB", "PB"],
  },
  bandwidth: {
    noun: "a bandwidth",
    base: "bytes/s",
    examples: ["400 Gb/s", "50 GB/s", "3.35 TB/s"],
    units: {
      ...family("B/s", UPTO_P),
      ...binaryFamily("B/s"),
      // Network links are sold in bits: b = bit, B = byte.
      ...family("b/s", { k: 3, M: 6, G: 9, T: 12 }, 1 / 8),
      ...family("bps", { k: 3, M: 6, G: 9, T: 12 }, 1 / 8),
    },
    display: ["B/s", "kB/s", "MB/s", "GB/s", "TB/s", "PB/s"],
  },
  power: {
    noun: "a power",
    base: "W",
    examples: ["700 W", "1.2 kW", "30 MW"],
    units: family("W", UPTO_G),
    display: ["W", "kW", "MW", "GW"],
  },
  time: {
    noun: "a duration",
    base: "seconds",
    examples: ["10 ms", "30 min", "54 d"],
    units: {
      s: u(0),
      ms: u(-3),
      us: u(-6),
      "\u00b5s": u(-6), // micro sign
      "\u03bcs": u(-6), // Greek mu, what most keyboards produce
      ns: u(-9),
      min: u(0, 60),
      h: u(0, 3600),
      d: u(0, 86400),
    },
    display: ["ns", "us", "ms", "s", "min", "h", "d"],
  },
  flops: {
    noun: "a compute rate",
    base: "FLOP/s",
    examples: ["989 TFLOP/s", "2 PFLOP/s", "312e12"],
    units: { ...family("FLOP/s", DECIMAL), ...family("FLOPS", DECIMAL) },
    display: ["FLOP/s", "kFLOP/s", "MFLOP/s", "GFLOP/s", "TFLOP/s", "PFLOP/s", "EFLOP/s"],
  },
  energy: {
    noun: "an energy",
    base: "J",
    examples: ["3.6 MJ", "1 kWh", "20 MWh"],
    units: { ...family("J", { k: 3, M: 6, G: 9, T: 12 }), ...family("Wh", { k: 3, M: 6, G: 9 }, 3600) },
    display: ["J", "kJ", "MJ", "GJ", "TJ"],
  },
  count: { noun: "a count", base: "", examples: ["8", "1024"], units: {}, display: [] },
  // A ratio is a plain number; as a string it must say "%" (a GPU at "70 %" of its peers' speed).
  ratio: { noun: "a number", base: "", examples: ["1", "1.2"], units: { "%": u(-2) }, display: [] },
};

const NUMBER_RE = "(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][+-]?\\d+)?";
const QUANTITY_RE = new RegExp(`^\\s*([+-]?)(${NUMBER_RE})\\s*(\\S.*?)?\\s*$`);

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The JSON Schema `pattern` of the string form of a quantity: exactly what parseQuantity accepts. */
export function quantityPattern(dimension: Dimension): string {
  const units = Object.keys(DIMENSIONS[dimension].units)
    .sort((a, b) => b.length - a.length)
    .map(escapeRegex);
  const unit = units.length > 0 ? `(?:${units.join("|")})?` : "";
  return `^\\s*\\+?${NUMBER_RE}\\s*${unit}\\s*$`;
}

export function unitsOf(dimension: Dimension): string[] {
  return Object.keys(DIMENSIONS[dimension].units);
}

/** What a value of this dimension may look like, for messages and schema descriptions. */
export function allowedText(dimension: Dimension): string {
  const d = DIMENSIONS[dimension];
  if (d.display.length === 0) {
    const percent = d.units["%"] !== undefined ? ', or a percentage like "70 %"' : "";
    return `use a plain number, e.g. ${d.examples.join(", ")}${percent}`;
  }
  const examples = d.examples.map((e) => JSON.stringify(e)).join(", ");
  return `use a number in ${d.base} or a string like ${examples} (units: ${unitsOf(dimension).join(" ")})`;
}

function describeValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === "number" || typeof value === "boolean" || value === null || value === undefined) return String(value);
  return Array.isArray(value) ? "a list" : "an object";
}

/** Exact decimal shift: mantissa·10^shift through the string form, so no float error creeps in. */
function shift10(x: number, shift: number): number {
  if (shift === 0 || x === 0) return x;
  const [m, e] = x.toExponential().split("e");
  return Number(`${m}e${Number(e) + shift}`);
}

function unitHint(unit: string, dimension: Dimension): string {
  const known = unitsOf(dimension);
  const sameLetters = known.filter((k) => k.toLowerCase() === unit.toLowerCase());
  if (sameLetters.length > 0) {
    const list = sameLetters.map((k) => JSON.stringify(k)).join(" or ");
    return ` (units are case-sensitive: b = bit, B = byte, m = milli, M = mega; did you mean ${list}?)`;
  }
  for (const other of Object.keys(DIMENSIONS) as Dimension[]) {
    if (other !== dimension && unitsOf(other).includes(unit)) return ` ("${unit}" is a unit of ${DIMENSIONS[other].noun})`;
  }
  return "";
}

/**
 * A number is taken as SI base units; a string may carry a unit. Negative, NaN and
 * infinite values are refused; so is anything whose unit is not of this dimension.
 */
export function parseQuantity(value: unknown, dimension: Dimension): number | { error: string } {
  const info = DIMENSIONS[dimension];
  const notA = (extra = ""): { error: string } => ({ error: `${describeValue(value)} is not ${info.noun}${extra}; ${allowedText(dimension)}` });
  if (typeof value === "number") {
    if (Number.isNaN(value) || !Number.isFinite(value)) return notA();
    if (value < 0) return { error: `${value} is not allowed; expected a non-negative value: ${allowedText(dimension)}` };
    return value;
  }
  if (typeof value !== "string") return notA();
  if (dimension === "count") return notA(" (write it without quotes)");
  const match = QUANTITY_RE.exec(value);
  if (match === null) return notA();
  const [, sign, numberText = "", unitText] = match;
  if (dimension === "ratio" && unitText === undefined) return notA(" (write it without quotes)");
  let unit: Unit = u(0);
  if (unitText !== undefined) {
    const found = info.units[unitText];
    if (found === undefined) return notA(unitHint(unitText, dimension));
    unit = found;
  }
  if (sign === "-") return { error: `${describeValue(value)} is not allowed; expected a non-negative value: ${allowedText(dimension)}` };
  const [mantissa = "0", exponent = "0"] = numberText.toLowerCase().split("e");
  const x = Number(`${mantissa}e${Number(exponent) + unit.exp10}`) * unit.factor;
  if (!Number.isFinite(x)) return notA(" (too large)");
  return x;
}

/** Exact when 6 significant digits suffice (catalog figures round-trip), else rounded to 4. */
function compact(x: number): string {
  for (const digits of [4, 5, 6]) {
    const shown = Number(x.toPrecision(digits));
    if (shown === x) return String(shown);
  }
  return String(Number(x.toPrecision(4)));
}

const DISPLAY_EXP10: Readonly<Record<string, number>> = { "": 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };

function formatDecimal(x: number, units: readonly string[], suffixOf: (unit: string) => string): string {
  let chosen = units[0] ?? "";
  let exp = 0;
  for (const unit of units) {
    const e = DISPLAY_EXP10[unit.slice(0, unit.length - suffixOf(unit).length)] ?? 0;
    if (Math.abs(x) >= 10 ** e) {
      chosen = unit;
      exp = e;
    }
  }
  return `${compact(shift10(x, -exp))} ${chosen}`;
}

function significantDigits(text: string): number {
  return text.replace(/^[0.]+/, "").replace(".", "").length;
}

function formatBytes(x: number): string {
  const decimal = formatDecimal(x, DIMENSIONS.bytes.display, () => "B");
  if (!Number.isInteger(x) || x < 1024 || x % 1024 !== 0) return decimal;
  // Memory is sized in binary units ("80 GiB"): show them when exact and no longer than the decimal form.
  let binary: string | undefined;
  for (const [p, e] of Object.entries(BINARY)) {
    const v = x / 2 ** e;
    if (v >= 1 && Number(v.toPrecision(4)) === v) binary = `${v} ${p}B`;
  }
  if (binary === undefined) return decimal;
  const decimalExact = parseQuantity(decimal, "bytes") === x;
  const [decimalNumber = ""] = decimal.split(" ");
  const [binaryNumber = ""] = binary.split(" ");
  return decimalExact && significantDigits(decimalNumber) <= significantDigits(binaryNumber) ? decimal : binary;
}

function formatTime(x: number): string {
  if (x === 0) return "0 s";
  const steps: [string, number, number][] = [
    // unit, exp10, factor, from the largest down
    ["d", 0, 86400],
    ["h", 0, 3600],
    ["min", 0, 60],
    ["s", 0, 1],
    ["ms", -3, 1],
    ["us", -6, 1],
    ["ns", -9, 1],
  ];
  for (const [unit, exp, factor] of steps) {
    const size = factor * 10 ** exp;
    if (x >= size || unit === "ns") return `${compact(shift10(x / factor, -exp))} ${unit}`;
  }
  return `${x} s`;
}

/** Human-readable: "3.35 TB/s", "80 GiB", "85.9 GB", "700 W", "1.25 s", "54 d". */
export function formatQuantity(x: number, dimension: Dimension): string {
  if (!Number.isFinite(x)) return String(x);
  switch (dimension) {
    case "bytes":
      return formatBytes(x);
    case "bandwidth":
      return formatDecimal(x, DIMENSIONS.bandwidth.display, () => "B/s");
    case "power":
      return formatDecimal(x, DIMENSIONS.power.display, () => "W");
    case "time":
      return formatTime(x);
    case "flops":
      return formatDecimal(x, DIMENSIONS.flops.display, () => "FLOP/s");
    case "energy":
      return formatDecimal(x, DIMENSIONS.energy.display, () => "J");
    case "count":
    case "ratio":
      return String(x);
  }
}
