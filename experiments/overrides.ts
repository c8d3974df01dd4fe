/**
 * Dotted-path overrides ("cluster.gpu.hbmBandwidth" = "2 TB/s") applied to a RAW scenario
 * object, before the loader validates it. Values are put in as written: a quantity stays
 * a string with its unit, so the loader converts it and names it in any message, exactly
 * as if the user had typed it into the scenario file.
 *
 * Two paths lead into catalog entries: `cluster.gpu.<field>` while `cluster.gpu` is a
 * catalog name turns it into `{base: <name>, <field>: value}` (the loader's override
 * form), and `workload.model.<field>` does the same for a built-in model name. A path the
 * schema does not know is written anyway: the loader then reports it like any unknown key
 * in a file ("cluster.gpu.hbmBandwith: unknown key; did you mean ...").
 */
import { isPlainObject } from "./schema.ts";

type Raw = Record<string, unknown>;

/** Paths whose value may be a catalog name string that a deeper path turns into `{base: name}`. */
export const CATALOG_PATHS: readonly string[] = ["cluster.gpu", "workload.model"];

/** Segments that could reach an object's prototype: refused in experiment files. */
export const FORBIDDEN_SEGMENTS: readonly string[] = ["__proto__", "prototype", "constructor"];

/** Why a dotted path cannot be used at all (empty segment, prototype key), or undefined when it can. */
export function pathProblem(path: string): string | undefined {
  if (path === "") return "an empty path is not allowed; expected a dotted path such as cluster.gpu.hbmBandwidth";
  const segments = path.split(".");
  if (segments.some((s) => s === "")) return `${JSON.stringify(path)} has an empty segment; expected a dotted path such as cluster.gpu.hbmBandwidth`;
  const bad = segments.find((s) => FORBIDDEN_SEGMENTS.includes(s));
  if (bad !== undefined) return `${JSON.stringify(bad)} is not allowed as a path segment`;
  return undefined;
}

function define(target: Raw | unknown[], key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function isIndex(segment: string, list: unknown[]): boolean {
  return /^(0|[1-9]\d*)$/.test(segment) && Number(segment) <= list.length;
}

/**
 * Sets `path` to `value` inside `raw`, in place. Missing objects on the way are created; a
 * catalog name on the way (see CATALOG_PATHS) becomes `{base: name}`; any other
 * non-object on the way is replaced by an object, which the loader then refuses with the
 * path's name. The value is copied, so points never share objects.
 */
export function applyOverride(raw: Raw, path: string, value: unknown): void {
  const problem = pathProblem(path);
  if (problem !== undefined) throw new Error(`override ${path}: ${problem}`);
  const segments = path.split(".");
  let here: Raw | unknown[] = raw;
  for (let i = 0; i < segments.length - 1; i++) {
    const key = segments[i] as string;
    const prefix = segments.slice(0, i + 1).join(".");
    let next: unknown = Array.isArray(here) ? (isIndex(key, here) ? here[Number(key)] : undefined) : Object.hasOwn(here, key) ? here[key] : undefined;
    if (typeof next === "string" && CATALOG_PATHS.includes(prefix)) {
      next = { base: next };
    } else if (isPlainObject(next)) {
      next = { ...next };
    } else if (Array.isArray(next)) {
      next = [...(next as unknown[])];
    } else {
      next = {};
    }
    define(here, key, next);
    here = next as Raw | unknown[];
  }
  define(here, segments[segments.length - 1] as string, structuredClone(value));
}

/** A copy of `raw` with every override applied, in order. `raw` is left untouched. */
export function withOverrides(raw: Raw, overrides: Readonly<Record<string, unknown>> | Iterable<readonly [string, unknown]>): Raw {
  const out = structuredClone(raw);
  const entries = Symbol.iterator in overrides ? [...(overrides as Iterable<readonly [string, unknown]>)] : Object.entries(overrides);
  for (const [path, value] of entries) applyOverride(out, path, value);
  return out;
}

/** The value at a dotted path of a raw object, or undefined. */
export function valueAt(raw: unknown, path: string): unknown {
  let here: unknown = raw;
  for (const key of path.split(".")) {
    if (Array.isArray(here)) here = isIndex(key, here) ? here[Number(key)] : undefined;
    else if (isPlainObject(here) && Object.hasOwn(here, key)) here = here[key];
    else return undefined;
  }
  return here;
}
