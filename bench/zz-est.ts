import { loadScenario } from "../experiments/load.ts";
import { estimateWork } from "../models/work-estimate.ts";
import { workProblem } from "../experiments/work-limits.ts";
for (const f of process.argv.slice(2)) {
  const [file, mode] = f.split(":");
  try {
    const s = loadScenario(file!);
    const w = estimateWork(s, (mode as any) ?? "folded");
    console.log(file, mode ?? "", w.events.toExponential(2), (w.bytes / 1e9).toFixed(2), "GB", w.terms.map((t) => `${t.name}=${t.events.toExponential(1)}/${(t.bytes/1e6).toFixed(0)}MB`).join(" "));
    console.log("  ", workProblem(s, (mode as any) ?? "auto"));
  } catch (e) { console.log(file, "load error", String(e).slice(0, 200)); }
}
