/**
 * Folded or full: whether one GPU per pipeline stage may stand for its tp·cp·dp
 * peers. Folding is exact when the peers are interchangeable; a GPU named slower
 * than the others breaks that, and only the full step (every GPU its own
 * resources, groups gated by their slowest member) shows who waits for whom.
 */
import type { Scenario } from "../scenario.ts";

export type StepMode = "folded" | "full";
/** What the caller asks for: `auto` folds unless the scenario breaks the symmetry. */
export type StepModeRequest = "auto" | StepMode;

export interface StepModeChoice {
  mode: StepMode;
  /** Why, in words for the run's output. */
  reason: string;
}

/** Why this scenario's ranks are not interchangeable (empty when they are). */
export function symmetryBreaks(s: Scenario): string[] {
  const out: string[] = [];
  const stragglers = s.cluster.stragglers ?? [];
  if (stragglers.length > 0) {
    const named = stragglers
      .slice(0, 3)
      .map((st) => `GPU ${st.gpu} at ${(100 * st.speed).toFixed(0)} %`)
      .join(", ");
    const more = stragglers.length > 3 ? ` and ${stragglers.length - 3} more` : "";
    out.push(`cluster.stragglers names GPUs slower than their peers (${named}${more})`);
  }
  return out;
}

export function chooseStepMode(s: Scenario, request: StepModeRequest = "auto"): StepModeChoice {
  if (request === "full") return { mode: "full", reason: "every GPU simulated, as asked (--full)" };
  const breaks = symmetryBreaks(s);
  if (request === "folded") {
    const caveat = breaks.length > 0 ? `; approximate, since ${breaks.join("; ")}: each stage runs at its slowest GPU's pace` : "";
    return { mode: "folded", reason: `one GPU per pipeline stage, as asked (--folded)${caveat}` };
  }
  if (breaks.length > 0) return { mode: "full", reason: `every GPU simulated, since ${breaks.join("; ")}` };
  return { mode: "folded", reason: "one GPU per pipeline stage stands for its identical tensor-, context- and data-parallel peers" };
}
