// Entry point of a sweep worker thread: load TypeScript through tsx, then the worker itself.
// (Node 20 does not pass `--import tsx` on to worker threads, so the thread registers tsx here.)
import { register } from "tsx/esm/api";

register();
await import("./sweep-worker.ts");
