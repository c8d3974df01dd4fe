/**
 * Text from configs that ends up in files others open (issue 24): CSV cells a spreadsheet
 * would run as formulas, and a JSON scenario or HuggingFace config that starts with a BOM.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadScenario } from "../../experiments/load.ts";
import { csvCell, resultsCsv } from "../../experiments/runner.ts";
import type { SweepPointResult } from "../../models/results.ts";

describe("CSV cells (OWASP CSV injection)", () => {
  it("text starting with =, +, -, @, a tab or a carriage return gets a leading '", () => {
    expect(csvCell("=HYPERLINK(\"http://x\")")).toBe(`"'=HYPERLINK(""http://x"")"`);
    expect(csvCell("+1+cmd|' /C calc'!A0")).toBe("'+1+cmd|' /C calc'!A0");
    expect(csvCell("-2")).toBe("'-2");
    expect(csvCell("@SUM(A1)")).toBe("'@SUM(A1)");
    expect(csvCell("\tx")).toBe("'\tx");
    expect(csvCell("\rx")).toBe(`"'\rx"`);
  });

  it("numbers, booleans and ordinary text are written as they are", () => {
    expect(csvCell(-2.5)).toBe("-2.5");
    expect(csvCell(true)).toBe("true");
    expect(csvCell("1 TB/s")).toBe("1 TB/s");
    expect(csvCell("a,b")).toBe(`"a,b"`);
    expect(csvCell(undefined)).toBe("");
  });

  it("a swept parameter's value in results.csv is neutralised", () => {
    const point: SweepPointResult = { index: 0, seed: 1, experiment: "x", params: { "workload.model": "=cmd()" }, status: "invalid", error: "bad" };
    const csv = resultsCsv([point], ["workload.model"]);
    expect(csv.split("\n")[1]?.startsWith("0,1,'=cmd(),invalid,")).toBe(true);
  });
});

describe("a UTF-8 byte-order mark", () => {
  const dir = mkdtempSync(join(tmpdir(), "trainsim-bom-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("before a JSON scenario is skipped, as YAML skips it", () => {
    const file = join(dir, "s.json");
    writeFileSync(file, "\uFEFF" + JSON.stringify({ name: "bom", cluster: { gpu: "H100-SXM", nodes: 1 }, workload: { model: "llama3-8b", seqLength: 4096, globalBatch: 8 } }));
    expect(loadScenario(file).name).toBe("bom");
  });

  it("before a HuggingFace config.json is skipped", () => {
    writeFileSync(join(dir, "config.json"), "\uFEFF" + JSON.stringify({ num_hidden_layers: 2, hidden_size: 1024, num_attention_heads: 8, intermediate_size: 4096, vocab_size: 32000, max_position_embeddings: 4096 }));
    const file = join(dir, "hf.json");
    writeFileSync(file, JSON.stringify({ name: "hf-bom", cluster: { gpu: "H100-SXM", nodes: 1 }, workload: { model: { hf: "config.json" }, seqLength: 4096, globalBatch: 8 } }));
    expect(loadScenario(file).workload.model.layers).toBe(2);
  });
});
