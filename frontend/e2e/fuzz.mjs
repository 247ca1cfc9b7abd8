// The contract gate: Schemathesis (PyPI) against the real stack (bangui-api,
// bangui-scheduler, a private fail2ban, one database), every operation, every check,
// with an admin API token and anonymously, for a bounded time each. Fails on
// any 5xx, response that breaks its schema, undocumented status code, missing `Allow`,
// input the schema forbids but the server takes, and the rest of Schemathesis' checks.
//
//   node e2e/fuzz.mjs SCHEMATHESIS_BIN [SECONDS_PER_RUN]
//
// BANGUI_BIN_DIR names the built binaries (default target/debug); E2E_DATABASE_URL a
// database (default: a SQLite file). The counts go to stdout and target/fuzz/<database>/.
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, startStack } from "./stack.mjs";

const [schemathesis, secondsArg = "150"] = process.argv.slice(2);
if (!schemathesis) {
  console.error("usage: node e2e/fuzz.mjs SCHEMATHESIS_BIN [SECONDS_PER_RUN]");
  process.exit(2);
}
const binDir = process.env.BANGUI_BIN_DIR ?? join(ROOT, "target/debug");
const out = join(ROOT, "target/fuzz", process.env.E2E_DATABASE_URL ? "postgres" : "sqlite");
mkdirSync(out, { recursive: true });

const ADMIN = { username: "admin", password: "correct horse battery staple" };

async function call(base, method, path, body, headers = {}) {
  const r = await fetch(`${base}/api/v1${path}`, {
    method,
    headers: { "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
  return { json: text ? JSON.parse(text) : null, headers: r.headers };
}

// Operations that can end the caller's own access (revoke its token, change or reset
// its password, disable or demote it): fuzzed in a last run of their own, so the runs
// before it keep a working token.
const SELF_ENDING = ["logout", "logout_all", "change_password", "revoke_token", "update_user", "delete_user", "reset_user_password"];

/** Runs Schemathesis without blocking this process (it drains the stack's log pipes). */
function schemathesisRun(args) {
  return new Promise((resolve) => {
    const child = spawn(schemathesis, args, { cwd: ROOT, env: process.env });
    let text = "";
    child.stdout.on("data", (d) => (text += d));
    child.stderr.on("data", (d) => (text += d));
    child.on("close", (status) => resolve({ status, text }));
  });
}

async function adminToken(base, name) {
  const login = await call(base, "POST", "/auth/login", ADMIN);
  const cookie = login.headers.get("set-cookie").split(";")[0];
  return (
    await call(base, "POST", "/auth/tokens", { name, role: "admin" }, { cookie, "x-requested-with": "bangui", origin: base })
  ).json.token;
}

const stack = await startStack({ databaseUrl: process.env.E2E_DATABASE_URL || null, binDir });
let failed = false;
const summary = [];
try {
  await call(stack.base, "POST", "/setup", ADMIN);
  const token = await adminToken(stack.base, "schemathesis");
  const lastToken = await adminToken(stack.base, "schemathesis-accounts");
  const exclude = SELF_ENDING.flatMap((id) => ["--exclude-operation-id", id]);
  const include = SELF_ENDING.flatMap((id) => ["--include-operation-id", id]);
  const runs = [
    ["admin", ["-H", `Authorization: Bearer ${token}`, ...exclude], secondsArg],
    ["anonymous", [], secondsArg],
    ["admin-accounts", ["-H", `Authorization: Bearer ${lastToken}`, ...include], String(Math.ceil(Number(secondsArg) / 3))],
  ];
  for (const [who, extra, seconds] of runs) {
    const report = join(out, `schemathesis-${who}.txt`);
    const args = [
      "--config-file",
      join(ROOT, "frontend/e2e/schemathesis.toml"),
      "--no-color",
      "run",
      `${stack.base}/api/v1/openapi.json`,
      "--checks",
      "all",
      "--max-time",
      seconds,
      "--workers",
      "2",
      "--seed",
      "20261203",
      "--suppress-health-check",
      "all",
      ...extra,
    ];
    console.log(`== schemathesis as ${who} (${seconds} s)`);
    let run = await schemathesisRun(args);
    // A run with no failed check but an internal error of Schemathesis itself (a
    // "Runtime Error", seen once as a KeyError inside its coverage phase with two
    // workers) says nothing about BanGUI: it is run again once, with one worker. A
    // failed check is never retried.
    const toolBroke = (r) => r.status !== 0 && !/^Failures:/m.test(r.text) && /Runtime Error/.test(r.text);
    if (toolBroke(run)) {
      console.log(`schemathesis itself failed (no check failed); running ${who} again with one worker`);
      writeFileSync(join(out, `schemathesis-${who}-tool-error.txt`), run.text);
      run = await schemathesisRun(args.map((a, i) => (args[i - 1] === "--workers" ? "1" : a)));
    }
    writeFileSync(report, run.text);
    const lines = run.text.split("\n").map((l) => (l.length > 300 ? `${l.slice(0, 300)}…` : l));
    const from = lines.findIndex((l) => l.includes("SUMMARY"));
    console.log(lines.slice(from >= 0 ? from : -40).join("\n"));
    const cases = run.text.match(/Test cases:\s*\n\s*([^\n]+)/)?.[1] ?? "?";
    summary.push(`${who}: ${cases}; exit ${run.status}`);
    if (run.status !== 0) {
      failed = true;
      console.error(`schemathesis as ${who} failed (exit ${run.status}); full report: ${report}`);
      console.error(lines.slice(0, 200).join("\n"));
    }
  }
  // The stack must have stayed healthy through it.
  const ready = await fetch(`${stack.base}/readyz`);
  if (!ready.ok) throw new Error(`readyz answered ${ready.status} after the fuzzing`);
} catch (e) {
  failed = true;
  console.error(e);
  console.error(stack.tail("bangui-api"));
} finally {
  await stack.stop();
}
console.log(`== schemathesis summary\n${summary.join("\n")}`);
writeFileSync(join(out, "summary.txt"), `${summary.join("\n")}\n`);
process.exit(failed ? 1 : 0);
