// The stack's long-running services (functions gateway, pg_net stand-in worker, Mapbox stand-in):
// each a Deno process leading its own process group, with a pid file, a log, and a line it prints
// once ready.
import { spawn, spawnSync } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import {
  ADMIN_ROLE,
  DASHBOARD_PORT,
  DENO,
  isAlive,
  LEGACY_KEYS,
  LOG_DIR,
  MAPBOX_STAND_IN_PORT,
  MAPBOX_STAND_IN_TOKEN,
  readPid,
  ROOT,
  STATE_DIR,
  testEnvironment,
} from "./platform.mjs";
import { dim, StackError, step } from "./shell.mjs";

export const SERVICES = {
  gateway: { script: "local/gateway.ts", readyLine: "gateway ready" },
  "pg-net-worker": { script: "local/pg-net-worker.ts", readyLine: "pg_net worker ready" },
  "mapbox-stand-in": { script: "local/mapbox-stand-in.ts", readyLine: "mapbox stand-in ready" },
  dashboard: { script: "local/dashboard-server.ts", readyLine: "dashboard ready" },
};
const SERVICE_READY_TIMEOUT_MS = 60_000;

export function serviceRunning(name) {
  return isAlive(readPid(name));
}

function waitForLogLine(file, offset, line, pid) {
  const deadline = Date.now() + SERVICE_READY_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const poll = () => {
      const text = existsSync(file) ? readFileSync(file, "utf8").slice(offset) : "";
      if (text.includes(line)) return resolve();
      if (!isAlive(pid)) return reject(new StackError(`exited during start-up; see ${file}:\n${text.slice(-2000)}`));
      if (Date.now() > deadline) {
        return reject(new StackError(`not ready after ${SERVICE_READY_TIMEOUT_MS} ms; see ${file}`));
      }
      setTimeout(poll, 100);
    };
    poll();
  });
}

function serviceEnvironment(legacyKeys) {
  return {
    ...testEnvironment(legacyKeys),
    CJH_ADMIN_ROLE: ADMIN_ROLE,
    CJH_MAPBOX_STAND_IN_PORT: String(MAPBOX_STAND_IN_PORT),
    CJH_MAPBOX_STAND_IN_TOKEN: MAPBOX_STAND_IN_TOKEN,
    CJH_DASHBOARD_PORT: String(DASHBOARD_PORT),
  };
}

/** Starts a service unless it runs; true when this call started it. */
export async function startService(name, { legacyKeys = LEGACY_KEYS } = {}) {
  if (serviceRunning(name)) return false;
  step(`starting ${name}`);
  const { script, readyLine } = SERVICES[name];
  mkdirSync(LOG_DIR, { recursive: true });
  const logFile = join(LOG_DIR, `${name}.log`);
  const offset = existsSync(logFile) ? statSync(logFile).size : 0;
  const out = openSync(logFile, "a");
  // The legacy variables are removed, not only left unset, in `off` mode: the caller's shell may have them.
  const inherited = { ...process.env };
  for (const name of ["SUPABASE_ANON_KEY", "SUPABASE_SERVICE_ROLE_KEY", "CJH_JWT_SECRET"]) delete inherited[name];
  const child = spawn(DENO, ["run", "--allow-all", "--config", join(ROOT, "deno.json"), join(ROOT, script)], {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", out, out],
    env: { ...inherited, ...serviceEnvironment(legacyKeys) },
  });
  closeSync(out);
  child.unref();
  writeFileSync(join(STATE_DIR, `${name}.pid`), String(child.pid));
  try {
    await waitForLogLine(logFile, offset, readyLine, child.pid);
  } catch (error) {
    stopService(name);
    throw new StackError(`${name} ${error.message}`);
  }
  return true;
}

export function stopService(name) {
  const pid = readPid(name);
  const pidFile = join(STATE_DIR, `${name}.pid`);
  if (!isAlive(pid)) {
    rmSync(pidFile, { force: true });
    return false;
  }
  step(`stopping ${name}`);
  // Each service leads its own process group (detached), which includes the function hosts.
  const signalGroup = (signal) => {
    try {
      process.kill(-pid, signal);
    } catch {
      try {
        process.kill(pid, signal);
      } catch { /* already gone */ }
    }
  };
  signalGroup("SIGTERM");
  const deadline = Date.now() + 5000;
  while (isAlive(pid) && Date.now() < deadline) spawnSync("sleep", ["0.1"]);
  if (isAlive(pid)) signalGroup("SIGKILL");
  rmSync(pidFile, { force: true });
  return true;
}

/** Streams the services' logs to the terminal, as `supabase functions serve` shows function logs. */
export function followLogs() {
  const offsets = new Map();
  for (const name of Object.keys(SERVICES)) {
    const file = join(LOG_DIR, `${name}.log`);
    offsets.set(name, existsSync(file) ? statSync(file).size : 0);
  }
  return setInterval(() => {
    for (const [name, offset] of offsets) {
      const file = join(LOG_DIR, `${name}.log`);
      if (!existsSync(file)) continue;
      const size = statSync(file).size;
      if (size <= offset) continue;
      const fd = openSync(file, "r");
      const buffer = Buffer.alloc(size - offset);
      readSync(fd, buffer, 0, buffer.length, offset);
      closeSync(fd);
      offsets.set(name, size);
      for (const line of buffer.toString("utf8").split("\n")) {
        if (line.trim()) console.log(`${dim(`[${name}]`)} ${line}`);
      }
    }
  }, 250);
}
