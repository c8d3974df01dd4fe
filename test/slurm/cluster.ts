/**
 * A throwaway one-node Slurm cluster for the live test, started without systemd: munged as
 * the munge user on a socket in a temporary folder, then slurmctld and slurmd in the
 * foreground (-D) as child processes of this one, with a slurm.conf whose state, spool, log
 * and pid files all live in that folder and whose ports are free ones. `stop()` cancels the
 * cluster's jobs and ends exactly the daemons started here, by their process ids.
 *
 * Needs root and Debian's slurm-wlm and munge packages (apt-get install slurm-wlm munge).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { accessSync, chmodSync, chownSync, closeSync, constants, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { hostname, availableParallelism, tmpdir } from "node:os";
import { delimiter, join } from "node:path";

const SEARCH = ["/usr/sbin", "/sbin", "/usr/bin", "/bin", "/usr/local/sbin", "/usr/local/bin"];
export const SLURM_TOOLS = ["slurmctld", "slurmd", "munged", "munge", "sbatch", "squeue", "scancel", "scontrol", "sinfo"] as const;
type Tool = (typeof SLURM_TOOLS)[number];

/** The PATH to use: the caller's plus the sbin folders root's PATH sometimes lacks. */
export function searchPath(env: NodeJS.ProcessEnv = process.env): string {
  const dirs = (env["PATH"] ?? "").split(delimiter).filter((d) => d !== "");
  for (const d of SEARCH) if (!dirs.includes(d)) dirs.push(d);
  return dirs.join(delimiter);
}

export function which(name: string, path = searchPath()): string | undefined {
  for (const dir of path.split(delimiter)) {
    const file = join(dir, name);
    try {
      if (statSync(file).isFile()) {
        accessSync(file, constants.X_OK);
        return file;
      }
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Why a live cluster cannot start here, or undefined if it can. */
export function clusterUnavailable(): string | undefined {
  if (process.platform !== "linux") return `Slurm daemons run on Linux only (this is ${process.platform})`;
  const missing = SLURM_TOOLS.filter((t) => which(t) === undefined);
  if (missing.length > 0) return `${missing.join(", ")} not installed (Debian: apt-get install slurm-wlm munge)`;
  if (process.getuid?.() !== 0) return "starting slurmd and munged as another user needs root";
  if (passwdEntry("munge") === undefined) return "there is no munge user (the munge package creates it)";
  return undefined;
}

function passwdEntry(user: string): { uid: number; gid: number } | undefined {
  for (const line of readFileSync("/etc/passwd", "utf8").split("\n")) {
    const f = line.split(":");
    if (f[0] === user && f.length >= 4) return { uid: Number(f[2]), gid: Number(f[3]) };
  }
  return undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every `everyMs` until it returns a value (not undefined) or `timeoutMs` passes. */
export async function poll<T>(what: string, timeoutMs: number, check: () => T | undefined, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${(timeoutMs / 1000).toFixed(0)} s waiting for ${what}`);
    await sleep(everyMs);
  }
}

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface Daemon {
  name: string;
  child: ChildProcess;
  exited: boolean;
}

export class SlurmCluster {
  readonly dir: string;
  readonly conf: string;
  /** Environment for sbatch, squeue, scancel ...: SLURM_CONF and a PATH that finds them. */
  readonly env: NodeJS.ProcessEnv;
  readonly node = hostname();
  private readonly daemons: Daemon[] = [];
  private readonly logFiles: string[] = [];
  private readonly onExit = (): void => this.killNow();

  private constructor(dir: string) {
    this.dir = dir;
    this.conf = join(dir, "slurm.conf");
    this.env = { ...process.env, PATH: searchPath(), SLURM_CONF: this.conf };
    process.once("exit", this.onExit);
  }

  /** Starts munged, slurmctld and slurmd and waits until the node is idle. */
  static async start(options: { log?: (line: string) => void } = {}): Promise<SlurmCluster> {
    const log = options.log ?? (() => {});
    const t0 = Date.now();
    const dir = mkdtempSync(join(tmpdir(), "trainsim-slurm-"));
    chmodSync(dir, 0o755); // munged (as munge) must reach its socket folder inside
    const cluster = new SlurmCluster(dir);
    try {
      await cluster.startMunge();
      await cluster.writeConf();
      for (const d of ["slurmctld", "slurmd"] as const) cluster.spawnDaemon(d, which(d) as string, ["-D", "-f", cluster.conf]);
      await poll("the node to be idle in sinfo", 45_000, () => {
        cluster.checkDaemons();
        const r = cluster.run("sinfo", ["--noheader", "--format", "%T"]);
        const state = r.stdout.trim();
        return r.code === 0 && /^idle/.test(state) ? state : undefined;
      }, 250);
      log(`slurm: one-node cluster ${cluster.node} (${availableParallelism()} CPUs) up in ${((Date.now() - t0) / 1000).toFixed(1)} s, SLURM_CONF=${cluster.conf}`);
      return cluster;
    } catch (err) {
      const logs = cluster.logs();
      await cluster.stop();
      throw new Error(`${err instanceof Error ? err.message : String(err)}\n${logs}`);
    }
  }

  private spawnDaemon(name: string, file: string, args: string[], ids?: { uid: number; gid: number }): void {
    const out = join(this.dir, `${name}.out`);
    this.logFiles.push(out);
    const fd = openSync(out, "a");
    const child = spawn(file, args, { stdio: ["ignore", fd, fd], env: this.env, ...(ids ?? {}) });
    closeSync(fd);
    const daemon: Daemon = { name, child, exited: false };
    child.on("exit", () => (daemon.exited = true));
    child.on("error", () => (daemon.exited = true));
    this.daemons.push(daemon);
  }

  private checkDaemons(): void {
    const dead = this.daemons.filter((d) => d.exited);
    if (dead.length > 0) throw new Error(`${dead.map((d) => `${d.name} (pid ${d.child.pid}) exited with ${d.child.exitCode ?? d.child.signalCode}`).join(", ")} during start-up`);
  }

  private async startMunge(): Promise<void> {
    const munge = passwdEntry("munge") as { uid: number; gid: number };
    // The key: /etc/munge/munge.key, owned by munge, mode 0400 (the Debian package usually made one).
    const keyDir = "/etc/munge";
    const key = join(keyDir, "munge.key");
    if (!existsSync(key)) {
      mkdirSync(keyDir, { recursive: true, mode: 0o700 });
      chownSync(keyDir, munge.uid, munge.gid);
      writeFileSync(key, randomBytes(1024), { mode: 0o400 });
      chownSync(key, munge.uid, munge.gid);
      chmodSync(key, 0o400);
    }
    const mdir = join(this.dir, "munge");
    mkdirSync(mdir, { mode: 0o755 });
    chownSync(mdir, munge.uid, munge.gid);
    chmodSync(mdir, 0o755); // clients need to reach the socket
    const socket = join(mdir, "munge.socket");
    this.logFiles.push(join(mdir, "munged.log"));
    this.spawnDaemon("munged", which("munged") as string, ["--foreground", "--socket", socket, "--key-file", key, "--pid-file", join(mdir, "munged.pid"), "--seed-file", join(mdir, "munged.seed"), "--log-file", join(mdir, "munged.log")], munge);
    await poll("munged to answer on its socket", 15_000, () => {
      this.checkDaemons();
      if (!existsSync(socket)) return undefined;
      const r = spawnSync(which("munge") as string, ["--socket", socket, "--no-input"], { encoding: "utf8" });
      return r.status === 0 ? true : undefined;
    }, 100);
  }

  private async writeConf(): Promise<void> {
    const ctldPort = await freePort();
    let slurmdPort = await freePort();
    while (slurmdPort === ctldPort) slurmdPort = await freePort();
    for (const d of ["state", "spool", "log"]) mkdirSync(join(this.dir, d));
    const p = (name: string): string => join(this.dir, name);
    this.logFiles.push(p("log/slurmctld.log"), p("log/slurmd.log"));
    const lines = [
      "# One-node cluster for trainsim's live Slurm test (test/slurm/cluster.ts).",
      "ClusterName=trainsim-test",
      `SlurmctldHost=${this.node}(127.0.0.1)`, // the loopback address: no dependence on name resolution
      `SlurmctldPort=${ctldPort}`,
      `SlurmdPort=${slurmdPort}`,
      "SlurmUser=root",
      "SlurmdUser=root",
      "AuthType=auth/munge",
      "CredType=cred/munge",
      `AuthInfo=socket=${p("munge/munge.socket")}`,
      "ProctrackType=proctrack/linuxproc",
      "TaskPlugin=task/none",
      "SelectType=select/cons_tres",
      "SelectTypeParameters=CR_Core",
      "MpiDefault=none",
      "JobAcctGatherType=jobacct_gather/none",
      "AccountingStorageType=accounting_storage/none",
      `StateSaveLocation=${p("state")}`,
      `SlurmdSpoolDir=${p("spool")}`,
      `SlurmctldPidFile=${p("slurmctld.pid")}`,
      `SlurmdPidFile=${p("slurmd.pid")}`,
      `SlurmctldLogFile=${p("log/slurmctld.log")}`,
      `SlurmdLogFile=${p("log/slurmd.log")}`,
      "SlurmctldDebug=info",
      "SlurmdDebug=info",
      "ReturnToService=2",
      "SlurmctldTimeout=10",
      "SlurmdTimeout=10",
      "MessageTimeout=10",
      "InactiveLimit=0",
      "KillWait=2",
      "MinJobAge=600",
      "SchedulerParameters=sched_interval=1,sched_min_interval=100000",
      `NodeName=${this.node} NodeAddr=127.0.0.1 CPUs=${availableParallelism()} State=UNKNOWN`,
      "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP",
      "",
    ];
    writeFileSync(this.conf, lines.join("\n"));
  }

  /** Runs a Slurm client command (sbatch, squeue, scontrol ...) against this cluster. */
  run(tool: Tool, args: readonly string[]): CommandResult {
    const r = spawnSync(which(tool) as string, args, { encoding: "utf8", env: this.env, timeout: 30_000 });
    return { code: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
  }

  /** JobState and exit code of a job (for an array job: of each task), from scontrol. */
  jobStates(id: string): { id: string; task: string | undefined; state: string; exitCode: string }[] {
    const r = this.run("scontrol", ["show", "job", "--oneliner", id]);
    if (r.code !== 0) return [];
    return r.stdout
      .split("\n")
      .filter((l) => l.includes("JobState="))
      .map((l) => ({
        id: /JobId=(\S+)/.exec(l)?.[1] ?? "",
        task: /ArrayTaskId=(\S+)/.exec(l)?.[1],
        state: /JobState=(\S+)/.exec(l)?.[1] ?? "",
        exitCode: /ExitCode=(\S+)/.exec(l)?.[1] ?? "",
      }));
  }

  /** Waits for a (non-array) job to reach a final state; returns it ("COMPLETED", "FAILED", ...). */
  async waitForJob(id: string, timeoutMs: number): Promise<{ state: string; exitCode: string }> {
    const done = /^(COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|PREEMPTED|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE)/;
    return poll(`job ${id} to end`, timeoutMs, () => {
      const jobs = this.jobStates(id);
      const job = jobs[0];
      if (job === undefined) return undefined;
      if (job.state === "PENDING" && this.run("scontrol", ["show", "job", "--oneliner", id]).stdout.includes("Reason=DependencyNeverSatisfied")) {
        return { state: "PENDING (DependencyNeverSatisfied)", exitCode: job.exitCode };
      }
      return done.test(job.state) ? { state: job.state, exitCode: job.exitCode } : undefined;
    }, 250);
  }

  /** The tails of every daemon log and of squeue, for a failure message. */
  logs(lines = 40): string {
    const parts: string[] = [`---- slurm test cluster in ${this.dir}`];
    for (const file of this.logFiles) {
      if (!existsSync(file)) continue;
      const text = readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
      parts.push(`---- ${file} (last ${lines} lines)`, text);
    }
    for (const d of this.daemons) parts.push(`---- ${d.name}: pid ${d.child.pid}, ${d.exited ? `exited (${d.child.exitCode ?? d.child.signalCode})` : "running"}`);
    if (existsSync(this.conf)) {
      const q = this.run("squeue", ["--all", "--format", "%i %j %T %r"]);
      parts.push("---- squeue", q.stdout + q.stderr);
    }
    return parts.join("\n");
  }

  /** Kills what is left at once (process exit: no waiting). */
  private killNow(): void {
    for (const d of this.daemons) {
      if (!d.exited && d.child.pid !== undefined) {
        try {
          process.kill(d.child.pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
    }
  }

  /**
   * Cancels every job of this cluster (only its own controller knows them), then ends the
   * daemons this object started, by pid: SIGTERM, and SIGKILL after 10 s. Removes the
   * temporary folder unless `keep`.
   */
  async stop(options: { keep?: boolean } = {}): Promise<void> {
    const ctld = this.daemons.find((d) => d.name === "slurmctld");
    if (ctld !== undefined && !ctld.exited && existsSync(this.conf)) {
      this.run("scancel", ["--user", "root"]);
      await poll("the cluster's jobs to end", 15_000, () => (this.run("squeue", ["--noheader"]).stdout.trim() === "" ? true : undefined), 250).catch(() => undefined);
    }
    // slurmd and slurmctld first, munged (which they talk to) last.
    for (const name of ["slurmd", "slurmctld", "munged"]) {
      for (const d of this.daemons.filter((x) => x.name === name && !x.exited && x.child.pid !== undefined)) {
        const pid = d.child.pid as number;
        try {
          process.kill(pid, "SIGTERM");
        } catch {
          d.exited = true;
          continue;
        }
        await poll(`${d.name} (pid ${pid}) to exit`, 10_000, () => (d.exited ? true : undefined), 100).catch(() => {
          try {
            process.kill(pid, "SIGKILL");
          } catch {
            // gone meanwhile
          }
        });
      }
    }
    process.removeListener("exit", this.onExit);
    if (options.keep !== true) rmSync(this.dir, { recursive: true, force: true });
  }
}
