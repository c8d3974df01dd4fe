/** The ConfigError a loader call must throw, and its problems. */
import { expect } from "vitest";
import { ConfigError, type ConfigProblem } from "../../experiments/errors.ts";

export function problemsOf(f: () => unknown): ConfigProblem[] {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  throw new Error("expected a ConfigError");
}

/** The one problem the call must report. */
export function oneProblem(f: () => unknown): ConfigProblem {
  const p = problemsOf(f);
  expect(p).toHaveLength(1);
  return p[0] as ConfigProblem;
}
