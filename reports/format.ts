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

/** How a point that does not set a swept key is labelled: it runs with the base scenario's value. */
export const BASE_VALUE_LABEL = "(base)";

/**
 * A swept value as a short label: strings as written ("2 TB/s"), numbers with their guessed
 * unit; BASE_VALUE_LABEL when the point does not set the key (a `points:` entry sets only its own).
 */
export function formatParamValue(path: string, value: unknown): string {
  if (value === undefined) return BASE_VALUE_LABEL;
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

/**
 * Characters a terminal or a renderer would act on instead of showing: C0 and C1 controls
 * and DEL (escape sequences: ESC]0;…BEL retitles a window, ESC[2J clears it), the bidi
 * embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) and marks (U+200E,
 * U+200F, U+061C) that reorder what follows, and the line and paragraph separators
 * (U+2028, U+2029) that break Vega's expression parser. Newline and tab are layout, kept.
 */
const UNSAFE_CHARS = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u061C\u200E\u200F\u2028\u2029\u202A-\u202E\u2066-\u2069]/g;

/** One unsafe character as a visible escape: `\x1b` up to U+00FF, `\u202e` above. */
function escapeChar(c: string): string {
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
}

/**
 * Text for a terminal: every unsafe character (UNSAFE_CHARS) shown as its escape, so
 * `ESC[2J` in a name prints as `\x1b[2J` rather than clearing the screen. Newlines and tabs
 * stay. Everything the CLI prints as text goes through this (bin/common.ts); --json output
 * does not (JSON escapes C0 controls itself and must stay exact).
 */
export function terminalText(text: string): string {
  return text.replace(UNSAFE_CHARS, escapeChar);
}

/** Longest user text a chart draws (a title, an axis label, a legend entry), in characters. */
export const DRAWN_TEXT_LIMIT = 100;

/**
 * User text (a name, a swept value) as a chart draws it: unsafe characters escaped (newline
 * and tab too: a label is one line) and at most `limit` characters, the cut marked with "…".
 * Tables in the page and the data files keep the whole string.
 */
export function drawnText(text: string, limit = DRAWN_TEXT_LIMIT): string {
  const safe = text.replace(UNSAFE_CHARS, escapeChar).replace(/[\n\t]/g, (c) => escapeChar(c));
  return safe.length <= limit ? safe : `${cutAt(safe, limit - 1)}…`;
}

/** The first `n` UTF-16 units of `text`, one fewer rather than half a surrogate pair. */
export function cutAt(text: string, n: number): string {
  const last = text.charCodeAt(n - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? n - 1 : n);
}
