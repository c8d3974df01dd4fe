/**
 * Numbers and units as text, for every output a person reads: the terminal summaries
 * of run, validate, sweep and cluster, the report's tables and the charts' labels.
 * (Quantities in config files are written and parsed by experiments/units.ts.)
 */

/** SI prefix for a value: { factor, prefix } so that value / factor is in [1, 1000). */
export function siPrefix(value: number): { factor: number; prefix: string } {
  const a = Math.abs(value);
  const steps: [number, string][] = [
    [1e18, "E"],
    [1e15, "P"],
    [1e12, "T"],
    [1e9, "G"],
    [1e6, "M"],
    [1e3, "k"],
  ];
  for (const [factor, prefix] of steps) if (a >= factor) return { factor, prefix };
  return { factor: 1, prefix: "" };
}

/** A number with 3 significant digits, trailing zeros trimmed: 3.35, 80, 0.0123. */
export function sig(value: number, digits = 3): string {
  if (!Number.isFinite(value)) return String(value);
  if (value === 0) return "0";
  const s = Number(value.toPrecision(digits));
  return Math.abs(s) >= 1e6 || Math.abs(s) < 1e-4 ? s.toExponential(digits - 1) : String(s);
}

/** "3.35 TB/s", "700 W", "1.2 MW": value in base units with an SI prefix on `unit`. */
export function withUnit(value: number, unit: string): string {
  if (unit === "") return sig(value);
  const { factor, prefix } = siPrefix(value);
  return `${sig(value / factor)} ${prefix}${unit}`;
}

export function gib(bytes: number): number {
  return bytes / 2 ** 30;
}

export function percent(share: number, digits = 1): string {
  return `${(share * 100).toFixed(digits)} %`;
}

/** Seconds as the unit a reader would pick: "850 ms", "7.18 s", "12 min", "3.5 h", "54 d". */
export function duration(seconds: number): string {
  const a = Math.abs(seconds);
  if (a === 0) return "0 s";
  if (a < 1e-3) return `${sig(seconds * 1e6)} µs`;
  if (a < 1) return `${sig(seconds * 1e3)} ms`;
  if (a < 120) return `${sig(seconds)} s`;
  if (a < 2 * 3600) return `${sig(seconds / 60)} min`;
  if (a < 2 * 86400) return `${sig(seconds / 3600)} h`;
  return `${sig(seconds / 86400)} d`;
}

/**
 * The unit a swept dotted path's numbers are in (SI base units, docs/scenario.md),
 * guessed from its last key: used only to label numbers that were written
 * without units in the experiment.
 */
export function unitOfParam(path: string): string {
  const key = (path.split(".").pop() ?? path).toLowerCase();
  if (key.includes("bandwidth")) return "B/s";
  if (key.endsWith("bytes")) return "B";
  if (key.includes("watts") || key.includes("powerlimit") || key.endsWith("cap") || key === "tdp") return "W";
  if (key.includes("interval") || key.includes("seconds") || key.includes("duration") || key.includes("latency")) return "s";
  if (key.includes("flops")) return "FLOP/s";
  return "";
}

/** A swept value as a short label: strings as written ("2 TB/s"), numbers with their guessed unit. */
export function formatParamValue(path: string, value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number") {
    const unit = unitOfParam(path);
    if (unit === "") return Number.isInteger(value) ? String(value) : sig(value, 4);
    if (unit === "s") return duration(value);
    if (unit === "B") return `${sig(gib(value))} GiB`;
    return withUnit(value, unit);
  }
  if (typeof value === "boolean" || value === null) return String(value);
  return JSON.stringify(value);
}

/** The last one or two keys of a dotted path, for axis titles: "cluster.gpu.hbmBandwidth" → "gpu.hbmBandwidth". */
export function shortParam(path: string): string {
  const parts = path.split(".");
  return parts.length <= 2 ? path : parts.slice(-2).join(".");
}

/** A count with thousands separators: 16,384. */
export function group(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}
