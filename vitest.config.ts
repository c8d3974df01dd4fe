import { configDefaults, defineConfig } from "vitest/config";

/**
 * Three tiers: `unit` for the inner loop (npm run test:unit), `validation` (published cases and
 * what is checked on every one of them), `e2e` (the CLI as a process, the browser, Slurm,
 * whole sweeps, whole report folders). `npm test` runs all three, in that order (groupOrder).
 * The unit and validation tiers use every core (nothing in them is timed); e2e keeps vitest's
 * default (one core left free): its tests spawn CLI processes that start worker threads of their own.
 */
const VALIDATION = [
  "test/models/validation.test.ts",
  "test/models/step-full.test.ts",
  "test/experiments/validate.test.ts",
  "test/models/uncertainty-coverage.test.ts",
  "test/experiments/plan-validation.test.ts",
];
const E2E = [
  "test/e2e/**/*.test.ts",
  "test/docs/**/*.test.ts",
  "test/slurm/**/*.test.ts",
  "test/reports/browser.test.ts",
  "test/reports/build.test.ts",
  "test/experiments/runner.test.ts",
  "test/experiments/bundled-sweeps.test.ts",
  "test/models/cluster-cli.test.ts",
];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    projects: [
      { extends: true, test: { name: "unit", include: ["test/**/*.test.ts"], exclude: [...configDefaults.exclude, ...VALIDATION, ...E2E], maxWorkers: "100%", sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: "validation", include: VALIDATION, maxWorkers: "100%", sequence: { groupOrder: 1 } } },
      { extends: true, test: { name: "e2e", include: E2E, sequence: { groupOrder: 2 } } },
    ],
  },
});
