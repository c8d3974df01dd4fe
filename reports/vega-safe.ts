/**
 * The last step before a chart spec is rendered or put in a page: user text (names, swept
 * values) cannot break Vega or make it crawl. Vega's expression parser rejects U+2028 and
 * U+2029 inside string literals ("Unexpected token ILLEGAL"), and Vega-Lite writes an
 * explicit sort order and filters as expressions holding the data's strings; a title of
 * 100k characters takes resvg a minute to lay out.
 */
import { cutAt, terminalText } from "./format.ts";

/** Longest title or subtitle line drawn, in characters (user text is capped shorter where it enters: format.ts drawnText). */
export const TITLE_TEXT_LIMIT = 200;

const TITLE_KEYS = new Set(["title", "subtitle", "text"]);

function cap(text: string, limit: number): string {
  return text.length <= limit ? text : `${cutAt(text, limit - 1)}…`;
}

function walk(value: unknown, key: string | undefined, inData: boolean): unknown {
  if (typeof value === "string") {
    // The same string gets the same escape everywhere (data, sort orders, domains), so they still match.
    const safe = terminalText(value);
    return !inData && key !== undefined && TITLE_KEYS.has(key) ? cap(safe, TITLE_TEXT_LIMIT) : safe;
  }
  if (Array.isArray(value)) return value.map((v) => walk(v, key, inData));
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = walk(v, k, inData || k === "values");
    return out;
  }
  return value;
}

/**
 * `spec` with every string's unsafe characters escaped as the terminal shows them (`\u2028`,
 * `\x1b`: format.ts terminalText) and titles capped at TITLE_TEXT_LIMIT; data values keep
 * their whole length. Specs without such characters come back equal.
 */
export function vegaSafeSpec<T>(spec: T): T {
  return walk(spec, undefined, false) as T;
}
