/**
 * Everything wrong with a config, reported at once: researchers fix a file in one
 * pass rather than one error per run.
 */

export interface ConfigProblem {
  /** Dotted path of the offending key ("parallelism.tp"), or "(file)" / "(config)" for the whole document. */
  path: string;
  /** The value as written (before unit conversion), when there is one. */
  value: unknown;
  /** Starts with the path, shows the value, says what is allowed. */
  message: string;
}

export function formatProblems(problems: readonly ConfigProblem[], file?: string): string {
  const where = file === undefined ? "config" : file;
  const head = `${where}: ${problems.length} problem${problems.length === 1 ? "" : "s"}`;
  return [head, ...problems.map((p) => `  - ${p.message}`)].join("\n");
}

export class ConfigError extends Error {
  readonly problems: ConfigProblem[];
  readonly file: string | undefined;

  constructor(problems: ConfigProblem[], file?: string) {
    super(formatProblems(problems, file));
    this.name = "ConfigError";
    this.problems = problems;
    this.file = file;
  }

  formatProblems(): string {
    return formatProblems(this.problems, this.file);
  }
}
