// Screenshots of every page at 1440×900 and 390×844 in both themes, from a running
// BanGUI (the demo of `./run.sh` gives the richest ones). The browser tests save the same
// set for their own small stack under target/e2e-screenshots/.
//
//   node e2e/screenshots.mjs http://127.0.0.1:8080 admin 'password' out-dir
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { launch, signedIn } from "./browser.mjs";

const [base, user, password, out = "screenshots"] = process.argv.slice(2);
if (!base || !user || !password) {
  console.error("usage: screenshots.mjs BASE_URL USER PASSWORD [OUT_DIR]");
  process.exit(2);
}
mkdirSync(out, { recursive: true });
const browser = await launch();
const state = await signedIn(browser, base, user, password);

// The first jail and the IP of the newest ban stand in for the detail pages.
const probe = await browser.newContext({ storageState: state });
const api = async (path) => (await probe.request.get(`${base}/api/v1${path}`, { headers: { "X-Requested-With": "bangui" } })).json();
const jail = (await api("/jails")).items?.[0]?.name;
const ip = (await api("/dashboard/bans?range=7d&page_size=1")).items?.[0]?.ip;
await probe.close();

const pages = [
  ["dashboard", "/"],
  ["map", "/map"],
  ["jails", "/jails"],
  ...(jail ? [["jail-detail", `/jails/${encodeURIComponent(jail)}`]] : []),
  ["history", "/history"],
  ...(ip ? [["ip-timeline", `/history/${encodeURIComponent(ip)}`]] : []),
  // Administration (admins only: another user's screenshots say "needs the admin role").
  ["admin-system", "/admin/system"],
  ["admin-audit", "/admin/audit"],
  ["admin-commands", "/admin/commands"],
];
for (const [size, viewport] of [["desktop", { width: 1440, height: 900 }], ["phone", { width: 390, height: 844 }]]) {
  for (const scheme of ["light", "dark"]) {
    const ctx = await browser.newContext({ storageState: state, viewport, colorScheme: scheme });
    for (const [name, path] of pages) {
      const p = await ctx.newPage();
      await p.goto(`${base}${path}`);
      await p.waitForLoadState("networkidle");
      await p.waitForFunction(() => !document.querySelector(".fui-Spinner"), null, { timeout: 30_000 }).catch(() => {});
      await p.waitForTimeout(500);
      await p.screenshot({ path: join(out, `${name}-${size}-${scheme}.png`), fullPage: size === "phone" });
      await p.close();
    }
    await ctx.close();
  }
}
await browser.close();
console.log(`saved ${pages.length * 4} screenshots in ${out}`);
