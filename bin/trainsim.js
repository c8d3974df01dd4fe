#!/usr/bin/env node
// Entry point for the `trainsim` command: load the TypeScript CLI through tsx.
import { register } from "tsx/esm/api";

register();
await import("./trainsim.ts");
