/**
 * The categories every second of a rank's step is attributed to: the
 * product's headline output. Which resource held an activity back decides its
 * category; idle time decides by what it waited for.
 */

export const CATEGORIES = ["compute", "hbm", "nvlink", "network", "power", "bubble", "data", "failure", "checkpoint"] as const;
export type Category = (typeof CATEGORIES)[number];

export const CATEGORY_INDEX: Readonly<Record<Category, number>> = Object.fromEntries(CATEGORIES.map((c, i) => [c, i])) as Record<Category, number>;

/** Resource kinds the step model creates, and the category their bottleneck time counts as. */
export function categoryOfResourceKind(kind: string): Category {
  switch (kind) {
    case "sm":
      return "compute";
    case "hbm":
      return "hbm";
    case "nvlink":
      return "nvlink";
    case "nic":
    case "fabric":
    // A GPU's PCIe link to host memory (offload): an interconnect outside the GPU.
    case "host":
      return "network";
    case "power":
      return "power";
    default:
      return "compute";
  }
}

export type Breakdown = Record<Category, number>;

export function emptyBreakdown(): Breakdown {
  return Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as Breakdown;
}

/** The category with the largest share (first in CATEGORIES order on a tie). */
export function dominantCategory(b: Breakdown): Category {
  let best: Category = CATEGORIES[0];
  for (const c of CATEGORIES) if (b[c] > b[best]) best = c;
  return best;
}
