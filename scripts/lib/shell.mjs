// Running commands for the stack scripts: output shown or captured, PostgreSQL's binaries as the
// `postgres` OS user when we are root, and one error type the command line reports without a stack.
import { spawnSync } from "node:child_process";
import { ROOT } from "./platform.mjs";

export const IS_ROOT = process.getuid?.() === 0;

const color = (code) => (text) => process.stdout.isTTY ? `\x1b[${code}m${text}\x1b[0m` : text;
export const cyan = color(36);
export const dim = color(2);
export const bold = color(1);

export function step(message) {
  console.log(`${cyan("›")} ${message}`);
}

export class StackError extends Error {}

export function run(command, args, { capture = false, env, cwd = ROOT, allowFailure = false } = {}) {
  const result = spawnSync(command, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: capture ? ["ignore", "pipe", "pipe"] : "inherit",
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw new StackError(`${command}: ${result.error.message}`);
  if (result.status !== 0 && !allowFailure) {
    const detail = capture ? `\n${result.stderr || result.stdout}` : "";
    throw new StackError(`${command} ${args.join(" ")} exited with ${result.status}${detail}`);
  }
  return result;
}

/** Runs a PostgreSQL server binary as the `postgres` OS user when we are root (initdb refuses root). */
export function runAsPostgres(binary, args, options) {
  return IS_ROOT ? run("runuser", ["-u", "postgres", "--", binary, ...args], options) : run(binary, args, options);
}
