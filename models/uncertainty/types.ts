/** What `--uncertainty` reports (RunResult.uncertainty; docs/results.md): plain data, no imports of the run. */
import type { UncertainConstant } from "./sample.ts";

export interface Band {
  p5: number;
  p50: number;
  p95: number;
}

export interface Sensitivity {
  path: string;
  /** Step time with this constant alone at the low / high end of its spread (the others at their values). */
  lowStepSeconds: number;
  highStepSeconds: number;
}

export interface UncertaintyResult {
  samples: number;
  seed: number;
  method: "latin-hypercube";
  /** Each constant: triangular over its spread, its most likely value the catalog's. */
  distribution: "triangular";
  stepSeconds: Band;
  tokensPerSecond: Band;
  mfu: Band;
  constants: UncertainConstant[];
  /** Largest swing of the step first. */
  sensitivity: Sensitivity[];
}
