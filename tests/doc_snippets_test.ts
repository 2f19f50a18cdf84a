// Every code snippet of README.md and docs/*.md runs as written, against the running stack:
// - `js`: with Node (the README's ≥ 20; this machine's `node`) and with Deno (node_modules/.bin/deno),
//   each from a file in the checkout so that its bare imports resolve as in a project that
//   installed them; environment variables it reads (SUPABASE_URL, CJH_API_KEY, …) are set;
// - `ts`: with Deno. A snippet that is a fragment (it uses `supabase`, the signed-in member's client
//   the page talks about, or `orgId`) runs after a prelude that defines just those;
// - `sql`: with psql-like rules through postgres.js in a transaction that is rolled back, each
//   `<placeholder>` replaced by a real value (a Vault secret it creates is removed first, within the
//   transaction, so that creating it again succeeds);
// - `http`: a request to /functions/v1 is sent to the stack (placeholders replaced) and must
//   succeed; the example of a delivery must carry exactly the headers the sender sends;
// - `sh`: every `npm …` command names a script of package.json (or npm's own), every
//   `npx supabase …` command a subcommand of the pinned CLI (these start or deploy whole stacks, so
//   they are checked, not run);
// - `json`: parses.
// Blocks without a language (terminal output, diagrams) are not code.
import assert from "node:assert/strict";
import { webhookHeaders } from "../supabase/functions/_shared/signing.ts";
import { connect, createTenant, integrationTest, mintJwt, ROOT, stack } from "./_support/stack.ts";

interface Snippet {
  file: string;
  line: number;
  language: string;
  code: string;
}

async function snippets(): Promise<Snippet[]> {
  const files = [
    "README.md",
    ...[...Deno.readDirSync(`${ROOT}/docs`)].filter((entry) => entry.name.endsWith(".md"))
      .map((entry) => `docs/${entry.name}`),
  ];
  const found: Snippet[] = [];
  for (const file of files.sort()) {
    const text = await Deno.readTextFile(`${ROOT}/${file}`);
    // Indented fences (inside list items) count too; their indentation is removed.
    for (const match of text.matchAll(/^( *)```(\w*)\n([\s\S]*?)^\1```$/gm)) {
      const [, indent, language, code] = match;
      if (language === "") continue;
      const line = text.slice(0, match.index).split("\n").length;
      found.push({ file, line, language, code: code.replace(new RegExp(`^${indent}`, "gm"), "") });
    }
  }
  return found;
}

const all = await snippets();
const where = (snippet: Snippet) => `${snippet.file}:${snippet.line} (${snippet.language})`;
const sql = connect(2);
globalThis.addEventListener("unload", () => void sql.end());

Deno.test("every language of the snippets is one this test knows how to run", () => {
  const known = new Set(["js", "ts", "tsx", "sql", "http", "sh", "json"]);
  assert.deepEqual(all.filter((snippet) => !known.has(snippet.language)).map(where), []);
  assert.ok(all.length > 20);
});

Deno.test("every tsx snippet is an example the dashboard's build type-checks as a consumer would", async () => {
  const examples = await Promise.all(
    [...Deno.readDirSync(`${ROOT}/dashboard/examples`)].map((entry) =>
      Deno.readTextFile(`${ROOT}/dashboard/examples/${entry.name}`)
    ),
  );
  const tsx = all.filter((snippet) => snippet.language === "tsx");
  assert.ok(tsx.length > 0);
  for (const snippet of tsx) {
    assert.ok(examples.includes(snippet.code), `${where(snippet)} is not in dashboard/examples`);
  }
});

/** A tenant with a member, an owner, a service account and its key: what the snippets act as. */
async function world() {
  const tenant = await createTenant(sql, "snippets");
  const [account] = await sql<{ api_key: string }[]>`
    select api_key from authz.create_service_account(${tenant.orgId}, 'snippets', '{jobs:read}')`;
  return {
    ...tenant,
    apiKey: account.api_key,
    ownerJwt: await mintJwt({ sub: tenant.userId }),
    remove: async () => {
      await sql`delete from auth.users where id in (select id from authz.service_accounts where org_id = ${tenant.orgId})`;
      await tenant.remove();
    },
  };
}

async function run(command: string, args: string[], env: Record<string, string>) {
  const { code, stdout, stderr } = await new Deno.Command(command, { args, cwd: ROOT, env, stdin: "null" }).output();
  const decoder = new TextDecoder();
  return { code, output: decoder.decode(stdout) + decoder.decode(stderr) };
}

integrationTest("every js and ts snippet runs as written (js with Node and Deno, ts with Deno)", async () => {
  const tenant = await world();
  const directory = `${ROOT}/.local/snippets`;
  await Deno.mkdir(directory, { recursive: true });
  try {
    const env = {
      SUPABASE_URL: stack.SUPABASE_URL,
      SUPABASE_PUBLISHABLE_KEY: stack.publishableKey,
      CJH_API_KEY: tenant.apiKey,
      CJH_WEBHOOK_SECRET: "whsec_" + btoa("snippet secret of thirty-two bytes"),
      NO_COLOR: "1",
    };
    // What a page means by `supabase` (the signed-in member's client) and `orgId`.
    const prelude = `import { createClient } from "npm:@supabase/supabase-js@2.119.0";
const supabase = createClient(${JSON.stringify(stack.SUPABASE_URL)}, ${JSON.stringify(stack.publishableKey)}, {
  global: { headers: { Authorization: ${JSON.stringify(`Bearer ${tenant.ownerJwt}`)} } },
  auth: { persistSession: false, autoRefreshToken: false },
});
const orgId = ${JSON.stringify(tenant.orgId)};
`;
    const code = all.filter((snippet) => snippet.language === "js" || snippet.language === "ts");
    assert.ok(code.some((snippet) => snippet.file === "README.md" && snippet.language === "js"));
    for (const [index, snippet] of code.entries()) {
      const fragment = /(^|[^\w@/-])(supabase\.\w|orgId\b)/m.test(snippet.code) &&
        !/\bconst (supabase|orgId)\b/.test(snippet.code);
      const source = (fragment ? prelude : "") + snippet.code + "\nexport {};\n";
      const file = `${directory}/snippet-${index}.${snippet.language === "js" && !fragment ? "mjs" : "ts"}`;
      await Deno.writeTextFile(file, source);
      const runners: [string, string[]][] = [[Deno.execPath(), ["run", "-A", "--config", `${ROOT}/deno.json`, file]]];
      if (file.endsWith(".mjs")) runners.push(["node", [file]]);
      for (const [command, args] of runners) {
        const { code: exit, output } = await run(command, args, env);
        assert.equal(exit, 0, `${where(snippet)} with ${command}:\n${output}`);
      }
    }
  } finally {
    await Deno.remove(directory, { recursive: true }).catch(() => {});
    await tenant.remove();
  }
});

integrationTest("every sql snippet runs as written, its placeholders filled in", async () => {
  const tenant = await world();
  const values: Record<string, string> = {
    "<org id>": tenant.orgId,
    "<your Mapbox public or secret token>": "pk.snippet",
    "<project-ref>": "snippet-project",
  };
  try {
    for (const snippet of all.filter((candidate) => candidate.language === "sql")) {
      const filled = snippet.code.replace(/<[^<>\n]+>/g, (placeholder) => {
        if (!(placeholder in values)) throw new Error(`${where(snippet)}: no value for ${placeholder}`);
        return values[placeholder];
      });
      const created = [...filled.matchAll(/vault\.create_secret\([^)]*?,\s*'([^']+)'\)/g)].map(([, name]) => name);
      await sql.begin(async (tx) => {
        await tx`delete from vault.secrets where name = any(${created})`;
        await tx.unsafe(filled);
        throw new RolledBack();
      }).catch((error) => {
        if (!(error instanceof RolledBack)) throw new Error(`${where(snippet)}: ${error}`);
      });
    }
  } finally {
    await tenant.remove();
  }
});

class RolledBack extends Error {}

integrationTest(
  "every http snippet: requests to the functions succeed, the delivery shows the sender's headers",
  async () => {
    const tenant = await world();
    try {
      for (const snippet of all.filter((candidate) => candidate.language === "http")) {
        const [head, body = ""] = snippet.code.split(/\n\n/);
        const [requestLine, ...headerLines] = head.split("\n");
        const [method, path] = requestLine.split(" ");
        const headers = Object.fromEntries(headerLines.map((line) => {
          const at = line.indexOf(":");
          return [line.slice(0, at).trim(), line.slice(at + 1).trim()];
        }));
        if (path.startsWith("/functions/v1/")) {
          const fill = (text: string) =>
            text.replaceAll("<the project's publishable key>", stack.publishableKey).replaceAll(
              "cjh_sk_…",
              tenant.apiKey,
            );
          const response = await fetch(`${stack.SUPABASE_URL}${path}`, {
            method,
            headers: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, fill(value)])),
            body: fill(body.trim()),
          });
          const answer = await response.text();
          assert.equal(response.status, 200, `${where(snippet)}: ${answer}`);
        } else {
          const sent = webhookHeaders({ messageId: "evt_0", timestampSeconds: 0, signature: "v1,x", retryCount: 0 });
          assert.deepEqual(
            Object.keys(headers).map((name) => name.toLowerCase()).sort(),
            [...new Headers(sent).keys()].sort(),
            `${where(snippet)}: the headers CJH sends`,
          );
        }
      }
    } finally {
      await tenant.remove();
    }
  },
);

Deno.test("every sh snippet names npm scripts and Supabase CLI commands that exist", async () => {
  const scripts = JSON.parse(await Deno.readTextFile(`${ROOT}/package.json`)).scripts as Record<string, string>;
  const npmOwn = new Set(["start", "stop", "test", "install", "ci"]);
  for (const snippet of all.filter((candidate) => candidate.language === "sh")) {
    const lines = snippet.code.replace(/\\\n/g, " ").split("\n").map((text) => text.replace(/#.*$/, "").trim());
    for (const line of lines.filter(Boolean)) {
      const npm = line.match(/^npm (?:run )?(?:--[\w-]+ )*([\w:-]+)/);
      const npx = line.match(/^npx supabase ((?:[a-z-]+ ?)+)/);
      if (npm) {
        assert.ok(
          npm[1] in scripts || (npmOwn.has(npm[1]) && !line.startsWith("npm run")),
          `${where(snippet)}: ${line}`,
        );
      } else if (npx) {
        const { code, output } = await run(`${ROOT}/node_modules/.bin/supabase`, [
          ...npx[1].trim().split(" "),
          "--help",
        ], {
          SUPABASE_TELEMETRY_DISABLED: "1",
        });
        assert.equal(code, 0, `${where(snippet)}: ${line}\n${output}`);
      } else if (/^(?:[A-Z_]+=\S+ )*node \S+/.test(line)) {
        // A script of the project's, with its settings in the environment (the examples run elsewhere).
        const [, script] = line.match(/node (\S+)/)!;
        assert.ok((await Deno.stat(`${ROOT}/${script}`)).isFile, `${where(snippet)}: ${line}`);
      } else if (/^rm [\w.-]+$/.test(line)) {
        // Removing a file the snippet wrote.
      } else if (/^curl .*"https:\/\/api\.supabase\.com\/v1\/projects\/<project-ref>\//.test(line)) {
        // The Management API (what the CLI calls): reachable only with a hosted project's access token.
        assert.match(line, /-H "Authorization: Bearer \$SUPABASE_ACCESS_TOKEN"/, `${where(snippet)}: ${line}`);
      } else {
        assert.fail(`${where(snippet)}: a command this test cannot check: ${line}`);
      }
    }
  }
});

Deno.test("every json snippet parses", () => {
  for (const snippet of all.filter((candidate) => candidate.language === "json")) {
    assert.doesNotThrow(() => JSON.parse(snippet.code), where(snippet));
  }
});
