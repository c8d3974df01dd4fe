/** Sweep results that lack points their sweep.json expects: how the report and the CLI say so. */

/** Points sweep.json expects (the whole experiment, or its shard's slice) that the results lack. */
export interface MissingPoints {
  /** Points expected in this folder: sweep.json's count, or its shard's share of it. */
  expected: number;
  /** Indices of the expected points that have no result, ascending. */
  indices: number[];
}

/** "11 of 16 points are missing (indices 5, 6, 7, ...)": for the page and for stderr. */
export function missingText(m: MissingPoints, max = 20): string {
  const shown = m.indices.slice(0, max).join(", ");
  const more = m.indices.length > max ? `, ... (${m.indices.length} in all)` : "";
  return `${m.indices.length} of ${m.expected} points are missing (${m.indices.length === 1 ? "index" : "indices"} ${shown}${more})`;
}
