/**
 * Default failure rates, from the Llama 3 405B pre-training snapshot (Llama
 * Team, "The Llama 3 Herd of Models", 2024, Sec. 3.3.4 and Table 5): 419
 * unexpected interruptions in 54 days on 16,384 H100 GPUs in 2,048 hosts.
 * Each class's count is spread over the components that can cause it:
 *
 * | class    | Table 5 rows                                                   | count | per      |
 * | gpu      | faulty GPU 148, GPU SRAM 19, GPU system processor 17, silent   |  196  | GPU      |
 * |          | data corruption 6, GPU thermal interface + sensor 6            |       |          |
 * | hbm      | GPU HBM3 memory 72                                             |   72  | GPU      |
 * | host     | host maintenance (unplanned) 32, SSD 3, power supply 3, server |   46  | node     |
 * |          | chassis 2, IO expansion board 2, CPU 2, system memory 2        |       |          |
 * | nic      | NIC 7                                                          |    7  | GPU (NIC)|
 * | switch   | network switch/cable 35                                        |   35  | GPU      |
 * | software | software bug 54, NCCL watchdog timeouts 7, dependency 2        |   63  | GPU      |
 *
 * (the counts add up to 419). Planned interruptions — 47 in the snapshot,
 * automated maintenance such as firmware upgrades — are the `maintenance` class.
 * Switch/cable and software rates are per GPU because the fabric and the job's
 * exposure to software faults grow with it.
 */
import type { FailureClass, FailureProcess } from "../scenario.ts";

const HOURS = 54 * 24;
const GPUS = 16384;
const HOSTS = 2048;

const perGpu = (count: number): number => count / (GPUS * HOURS);
const perHost = (count: number): number => count / (HOSTS * HOURS);

export const LLAMA3_FAILURE_RATES: Readonly<Record<FailureClass, FailureProcess>> = {
  gpu: { ratePerHour: perGpu(148 + 19 + 17 + 6 + 6), distribution: "exponential" },
  hbm: { ratePerHour: perGpu(72), distribution: "exponential" },
  host: { ratePerHour: perHost(32 + 3 + 3 + 2 + 2 + 2 + 2), distribution: "exponential" },
  nic: { ratePerHour: perGpu(7), distribution: "exponential" },
  switch: { ratePerHour: perGpu(35), distribution: "exponential" },
  software: { ratePerHour: perGpu(54 + 7 + 2), distribution: "exponential" },
  maintenance: { ratePerHour: perGpu(47), distribution: "exponential" },
};

export const FAILURE_CLASSES: readonly FailureClass[] = ["gpu", "hbm", "host", "nic", "switch", "software", "maintenance"];

/** Classes that take a node out until it is replaced or repaired. */
export const NODE_FAILURES: ReadonlySet<FailureClass> = new Set(["gpu", "hbm", "host", "nic", "switch"]);

/** Classes that count as unexpected interruptions (all but planned maintenance). */
export const UNEXPECTED: ReadonlySet<FailureClass> = new Set(["gpu", "hbm", "host", "nic", "switch", "software"]);

/** How many components of a class a job of `gpus` GPUs on `nodes` nodes exposes. */
export function componentCount(cls: FailureClass, gpus: number, nodes: number): number {
  return cls === "host" ? nodes : gpus;
}
