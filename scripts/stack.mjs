#!/usr/bin/env node
// `npm start | stop | status | run env | run db:reset | run gen:types`: the local stack's command line.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  followLogs,
  generateTypes,
  printStatus,
  resetDatabase,
  restartPostgres,
  StackError,
  startFreshProject,
  startStack,
  step,
  stopFreshProject,
  stopStack,
} from "./lib/stack.mjs";
import { newSigningKey, ROOT, testEnvironment } from "./lib/platform.mjs";

const [command = "start", ...options] = process.argv.slice(2);

async function start() {
  const began = Date.now();
  const started = await startStack();
  const nothingStarted = !started.postgres && started.services.length === 0;
  printStatus();
  if (nothingStarted || options.includes("--detach")) {
    console.log(
      nothingStarted
        ? "The stack was already running; `npm stop` stops it."
        : "Started in the background; `npm stop` stops it.",
    );
    return;
  }
  console.log(`Ready in ${((Date.now() - began) / 1000).toFixed(1)} s. Function logs follow; Ctrl-C stops the stack.`);
  const timer = followLogs();
  let stopping = false;
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    clearInterval(timer);
    console.log("");
    stopStack();
    process.exit(0);
  };
  process.on("SIGINT", shutdown);
  process.on("SIGTERM", shutdown);
  process.on("SIGHUP", shutdown);
}

const commands = {
  start,
  stop: () => stopStack(),
  status: () => printStatus(),
  // `eval "$(npm run --silent env)"` lets a single Deno test file run against the stack by hand.
  env: () => {
    for (const [name, value] of Object.entries(testEnvironment())) {
      console.log(`export ${name}='${value.replaceAll("'", "'\\''")}'`);
    }
  },
  "db-reset": async () => {
    await resetDatabase();
    step("database rebuilt from migrations and seed");
  },
  // `db-restart --immediate` simulates a database crash (no checkpoint; WAL recovery on start).
  "db-restart": () => restartPostgres(options.includes("--immediate") ? "immediate" : "fast"),
  // `fresh-project start|stop --port N [--hosted-default-privileges]`: a brand-new project beside the
  // stack (tests/fresh_project_test.ts); `start` prints its DB URL and socket directory as JSON.
  "fresh-project": async () => {
    const [action] = options;
    const port = Number(options[options.indexOf("--port") + 1]);
    if (!Number.isInteger(port) || port <= 0) throw new StackError("fresh-project needs --port N");
    if (action === "stop") return stopFreshProject(port);
    const project = await startFreshProject(port, {
      hostedDefaultPrivileges: options.includes("--hosted-default-privileges"),
    });
    console.log(`FRESH_PROJECT ${JSON.stringify(project)}`);
  },
  // `signing-key`: a new private ES256 JWK (with a UUID kid) for an operator to import into a
  // project as a standby signing key and store in Vault (docs/deploying.md, "Service accounts").
  "signing-key": () => console.log(JSON.stringify(newSigningKey())),
  "gen-types": () => {
    const target = join(ROOT, "types/database.ts");
    if (options.includes("--stdout")) {
      process.stdout.write(generateTypes());
      return;
    }
    writeFileSync(target, generateTypes());
    step(`wrote ${target}`);
  },
};

const action = commands[command];
if (!action) {
  console.error(`unknown command ${command}; one of ${Object.keys(commands).join(", ")}`);
  process.exit(2);
}
try {
  await action();
} catch (error) {
  if (error instanceof StackError) {
    console.error(`\x1b[31m✗\x1b[0m ${error.message}`);
    process.exit(1);
  }
  throw error;
}
