/** Stable JSON: object keys sorted at every level, so equal values always serialise to equal bytes. */
import { isPlainObject } from "./schema.ts";

export function stableStringify(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (!isPlainObject(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) Object.defineProperty(sorted, k, { value: v[k], enumerable: true, writable: true, configurable: true });
    return sorted;
  });
}
