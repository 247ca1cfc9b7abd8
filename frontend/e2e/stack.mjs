// The real stack for the browser tests: a private fail2ban-server (Debian's package, our
// config in a temp dir, no firewall), bangui-migrate, bangui-scheduler and bangui-api on
// free loopback ports, sharing one database (SQLite file or a fresh PostgreSQL database).
import { execFileSync, spawn } from "node:child_process";
import { appendFileSync, createWriteStream, existsSync, mkdtempSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "../..");

function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.on("error", fail);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

async function waitFor(what, probe, timeoutMs = 60_000) {
  const until = Date.now() + timeoutMs;
  let last;
  while (Date.now() < until) {
    try {
      if (await probe()) return;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ""}`);
}

/**
 * Starts everything; `databaseUrl` null means a SQLite file in the temp dir.
 * Returns { base, f2b: { dir, socket, client(...args), fail(jail, ip, n) }, logs, stop() }.
 */
export async function startStack({ databaseUrl, binDir }) {
  const dir = mkdtempSync(join(tmpdir(), "bangui-e2e-"));
  const f2bDir = join(dir, "f2b");
  const script = join(ROOT, "scripts/fail2ban-private.sh");
  execFileSync(script, ["start", f2bDir], { env: { ...process.env, F2B_BANTIME: "1h" }, stdio: "pipe" });
  const socket = join(f2bDir, "f2b.sock");
  const dbUrl = databaseUrl ?? `sqlite://${join(dir, "bangui.db")}?mode=rwc`;
  const apiPort = await freePort();
  const schedulerPort = await freePort();
  const geo = join(ROOT, "scheduler/geo/node_modules/@ip-location-db");
  const env = {
    ...process.env,
    BANGUI_DATABASE_URL: dbUrl,
    BANGUI_API_ADDR: `127.0.0.1:${apiPort}`,
    BANGUI_SCHEDULER_ADDR: `127.0.0.1:${schedulerPort}`,
    BANGUI_COOKIE_SECURE: "false",
    BANGUI_LOG_FORMAT: "pretty",
    BANGUI_FAIL2BAN_SOCKET: socket,
    BANGUI_FAIL2BAN_CONFIG_DIR: join(f2bDir, "conf"),
    // Quick turns so the browser sees a ban within a couple of seconds.
    BANGUI_STATUS_INTERVAL: "1s",
    BANGUI_JAIL_SYNC_INTERVAL: "1s",
    BANGUI_BAN_SYNC_INTERVAL: "1s",
    BANGUI_ARCHIVE_SYNC_INTERVAL: "2s",
    BANGUI_ROLLUP_INTERVAL: "2s",
    BANGUI_GEO_INTERVAL: "2s",
    // The blocklist tests serve their lists from loopback.
    BANGUI_BLOCKLIST_ALLOW_NETS: "127.0.0.1/32",
  };
  if (existsSync(geo)) {
    env.BANGUI_GEOIP_COUNTRY_DB = join(geo, "geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb");
    env.BANGUI_GEOIP_ASN_DB = `${join(geo, "asn/asn-ipv4.csv")},${join(geo, "asn/asn-ipv6.csv")}`;
  }
  const bin = (name) => join(binDir, name);
  execFileSync(bin("bangui-migrate"), ["up"], { env, stdio: "pipe" });
  const children = [];
  const logs = {};
  for (const name of ["bangui-scheduler", "bangui-api"]) {
    logs[name] = join(dir, `${name}.log`);
    const out = createWriteStream(logs[name]);
    const child = spawn(bin(name), [], { env, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.pipe(out);
    child.stderr.pipe(out);
    children.push(child);
  }
  const base = `http://127.0.0.1:${apiPort}`;
  await waitFor("bangui-api /readyz", async () => (await fetch(`${base}/readyz`)).ok);
  const client = (...args) => execFileSync("fail2ban-client", ["-s", socket, ...args], { encoding: "utf8" });
  return {
    base,
    dir,
    logs,
    f2b: {
      dir: f2bDir,
      socket,
      client,
      /** Writes `n` failed logins of `ip` to the web-auth log (maxretry 2: two ban it). */
      fail(ip, n = 2) {
        const now = Math.floor(Date.now() / 1000);
        appendFileSync(join(f2bDir, "web.log"), Array.from({ length: n }, () => `${now} failure from ${ip}\n`).join(""));
      },
      /** Stops the private fail2ban-server (as a crash or an operator would). */
      stop() {
        execFileSync(script, ["stop", f2bDir], { stdio: "pipe" });
      },
      /** Starts it again on the same configuration, socket and database. */
      start() {
        execFileSync(script, ["start", f2bDir], { env: { ...process.env, F2B_BANTIME: "1h" }, stdio: "pipe" });
      },
      /** The IPs fail2ban itself has banned in `jail` now. */
      banned(jail) {
        const line = client("status", jail)
          .split("\n")
          .find((l) => l.includes("Banned IP list:"));
        return (line?.split("Banned IP list:")[1] ?? "").trim().split(/\s+/).filter(Boolean);
      },
    },
    tail(name, lines = 40) {
      return readFileSync(logs[name], "utf8").split("\n").slice(-lines).join("\n");
    },
    async stop() {
      for (const c of children) c.kill("SIGTERM");
      await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once("exit", r)) : null)));
      execFileSync(script, ["stop", f2bDir], { stdio: "pipe" });
    },
  };
}

export { waitFor };
