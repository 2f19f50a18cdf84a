// The status block `npm start` and `npm run status` print, like `supabase status`: URLs, keys and
// which parts of the stack run. `statusRows` is what tests compare with README's example.
import { join } from "node:path";
import {
  ANON_KEY,
  API_URL,
  DASHBOARD_URL,
  DB_URL,
  JWKS_URL,
  JWT_SECRET,
  LEGACY_KEYS,
  LOG_DIR,
  MAPBOX_STAND_IN_URL,
  PUBLISHABLE_KEY,
  SECRET_KEY,
  SERVICE_ROLE_KEY,
} from "./platform.mjs";
import { installedPostgresMajor } from "./install.mjs";
import { stackCluster } from "./database.mjs";
import { serviceRunning } from "./services.mjs";
import { bold, dim } from "./shell.mjs";

/** The labelled values of the status block, in order; the legacy ones only while the stack has them. */
export function statusRows(legacyKeys = LEGACY_KEYS) {
  return [
    ["API URL", API_URL],
    ["Functions URL", `${API_URL}/functions/v1`],
    ["DB URL", DB_URL],
    ["JWKS URL", JWKS_URL],
    ["Publishable key", PUBLISHABLE_KEY],
    ["Secret key", SECRET_KEY],
    ...(legacyKeys === "on"
      ? [["JWT secret", JWT_SECRET], ["anon key", ANON_KEY], ["service_role key", SERVICE_ROLE_KEY]]
      : []),
    ["Mapbox stand-in", MAPBOX_STAND_IN_URL],
    ["Dashboard URL", DASHBOARD_URL],
  ];
}

export function printStatus() {
  const major = installedPostgresMajor();
  const mark = (up) => (up ? "running" : "stopped");
  const rows = statusRows();
  const width = Math.max(...rows.map(([label]) => label.length));
  console.log("");
  console.log(bold("CJH Integrations local stack"));
  for (const [label, value] of rows) console.log(`${label.padStart(width)}: ${value}`);
  console.log("");
  console.log(dim(`  legacy JWT secret and anon / service_role keys: ${LEGACY_KEYS} (CJH_LEGACY_KEYS)`));
  console.log(dim(
    `  postgres ${
      mark(major ? stackCluster.running(major) : false)
    } (data ${stackCluster.data}, log ${stackCluster.log})`,
  ));
  const services = [
    ["functions gateway", "gateway"],
    ["pg_net stand-in worker", "pg-net-worker"],
    ["Mapbox stand-in", "mapbox-stand-in"],
    ["webhook dashboard", "dashboard"],
  ];
  for (const [label, name] of services) {
    console.log(dim(`  ${label} ${mark(serviceRunning(name))} (log ${join(LOG_DIR, `${name}.log`)})`));
  }
  console.log(dim("  PostgREST, GoTrue and Studio need Docker and are not part of the local stack."));
  console.log("");
}
