/** `trainsim calibrate` as a process: writes the file on good input; exit 2, a named file/line/field and nothing written on bad. */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "../..");
const BIN = join(ROOT, "bin/trainsim.js");

function trainsim(cwd: string, ...args: string[]) {
  // The timeout only turns a hang into a failed assertion; nothing here is timed.
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: "utf8", timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const HEADER = "#       size         count      type   redop    root     time   algbw   busbw #wrong     time   algbw   busbw #wrong\n";
/** 8 × H100 all_gather_perf rows at ~370 GB/s busbw (the ring plateau S. Jeaugey gives in NVIDIA/nccl-tests #212), 20 us latency. */
function allGather(): string {
  const rows: string[] = [];
  for (let b = 2 ** 20; b <= 2 ** 33; b *= 2) {
    const s = 20e-6 + (b * 7) / 8 / 370e9;
    const cell = `${(s * 1e6).toFixed(2)} ${(b / s / 1e9).toFixed(2)} ${((b / s / 1e9) * 7) / 8} 0`;
    rows.push(`${b} ${b / 4} float none -1 ${cell} ${cell}`);
  }
  return HEADER + rows.join("\n") + "\n";
}

describe("trainsim calibrate (CLI)", () => {
  it("fits a manifest's inputs, writes the file, and collective --calibration reads it", () => {
    const dir = mkdtempSync(join(tmpdir(), "trainsim-calibrate-cli-"));
    writeFileSync(join(dir, "all_gather_perf.txt"), allGather());
    writeFileSync(join(dir, "gemm.csv"), "m,n,k,dtype,tflops\n8192,8192,8192,bf16,700\n4096,4096,4096,bf16,650\n");
    writeFileSync(join(dir, "inputs.yaml"), "gpu: H100-SXM\nnodes: 1\ngpusPerNode: 8\nncclTests: [all_gather_perf.txt]\nkernels: [gemm.csv]\n");
    const r = trainsim(dir, "calibrate", "inputs.yaml", "-o", "my-cluster.yaml");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("scaleUp: 370.0 GB/s effective");
    const text = readFileSync(join(dir, "my-cluster.yaml"), "utf8");
    expect(text).toContain("file: all_gather_perf.txt");
    const c = trainsim(dir, "collective", "--calibration", "my-cluster.yaml", "--op", "all-gather", "-b", "1G", "-e", "1G", "--json");
    expect(c.code, c.stderr).toBe(0);
    const row = JSON.parse(c.stdout).rows[0];
    const measured = 20e-6 + (2 ** 30 * 7) / 8 / 370e9;
    expect(Math.abs(row.seconds / measured - 1)).toBeLessThan(0.005);
  });

  it("malformed input: exit 2, the file, line and field named, nothing written", () => {
    const dir = mkdtempSync(join(tmpdir(), "trainsim-calibrate-cli-"));
    writeFileSync(join(dir, "all_reduce_perf.txt"), `${HEADER}1048576 262144 float sum -1 20.1 52.1 91.2 0 20.0 52.4 91.7 0\n2097152 524288 float sum -1 30.1 x 122 0 30.0 69.9 122.3 0\n`);
    const r = trainsim(dir, "calibrate", "--nccl", "all_reduce_perf.txt", "-o", "out.yaml");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('all_reduce_perf.txt:3: algbw (out-of-place, GB/s): "x" is not allowed');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(join(dir, "out.yaml"))).toBe(false);
    writeFileSync(join(dir, "inputs.yaml"), "gpu: H100-SXM\nncclTests: [{file: all_reduce_perf.txt, op: all-sum}]\n");
    const m = trainsim(dir, "calibrate", "inputs.yaml", "-o", "out.yaml");
    expect(m.code).toBe(2);
    expect(m.stderr).toContain('inputs.yaml: ncclTests[0].op: "all-sum" is not allowed; expected one of all-reduce');
    expect(existsSync(join(dir, "out.yaml"))).toBe(false);
  });
});
