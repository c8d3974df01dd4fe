#!/usr/bin/env node
// Entry point for the `trainsim` command. The CLI is TypeScript (bin/trainsim.ts): it runs
// from a bundle of its modules (experiments/bundle.js), or through tsx where no bundle can be
// built (or with TRAINSIM_CLI=tsx).
import { cliBundle } from "../experiments/bundle.js";

const bundle = await cliBundle();
if (bundle.url !== null) {
  await import(bundle.url);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import("./trainsim.ts");
}
