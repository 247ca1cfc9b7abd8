// End-to-end: Debian's chromium (driven by playwright-core, never a downloaded browser)
// against the real bangui-api, bangui-scheduler and a private fail2ban-server.
//
//   node --test e2e/ui.e2e.mjs        (test.sh runs it once per database)
//
// BANGUI_BIN_DIR: where bangui-api, bangui-scheduler and bangui-migrate are (default
// ../target/debug); E2E_DATABASE_URL: a PostgreSQL database to use (default: a SQLite
// file); E2E_SCREENSHOTS: where the screenshots of every page in both themes go (default
// ../target/e2e-screenshots/<backend>).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { ROOT, startStack, waitFor } from "./stack.mjs";

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const CHROMIUM = process.env.E2E_CHROMIUM ?? "/usr/bin/chromium";
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"];
const backend = process.env.E2E_DATABASE_URL?.startsWith("postgres") ? "postgres" : "sqlite";
const SHOTS = process.env.E2E_SCREENSHOTS ?? join(ROOT, "target/e2e-screenshots", backend);
const ADMIN = { user: "admin", password: "correct horse battery staple" };
const VIEWER = { user: "watcher", password: "viewer passphrase of four words" };
// Public addresses (the private fail2ban only writes a file); the first is banned and
// unbanned through the UI, the second stays banned for the viewer's view.
const IP = "193.0.6.139";
const OTHER_IP = "81.2.69.160";
const ZONE = "Europe/Berlin";

let stack;
let browser;
let adminState;

function context(opts = {}) {
  return browser.newContext({ viewport: { width: 1440, height: 900 }, timezoneId: ZONE, locale: "en-GB", ...opts });
}

/** Waits until the page has its data: no request in flight for a moment, no spinner. */
async function settle(page) {
  await page.waitForLoadState("networkidle");
  await page.waitForFunction(() => !document.querySelector(".fui-Spinner"), null, { timeout: 20_000 });
  await page.waitForTimeout(600); // chart animations
}

async function login(page, who) {
  await page.goto(`${stack.base}/login`);
  await page.getByLabel("Username").fill(who.user);
  await page.getByLabel("Password").fill(who.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL((u) => !u.pathname.startsWith("/login"));
}

/** A call with the page's session cookie, as the UI makes it (CSRF header, same origin). */
function apiCall(page, method, path, body) {
  return page.evaluate(
    async ([m, p, b]) => {
      const r = await fetch(`/api/v1${p}`, {
        method: m,
        headers: { "Content-Type": "application/json", "X-Requested-With": "bangui" },
        body: b === undefined ? undefined : JSON.stringify(b),
      });
      return { status: r.status, body: await r.json().catch(() => null) };
    },
    [method, path, body],
  );
}

before(async () => {
  stack = await startStack({
    databaseUrl: process.env.E2E_DATABASE_URL || null,
    binDir: process.env.BANGUI_BIN_DIR ?? join(ROOT, "target/debug"),
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
  mkdirSync(SHOTS, { recursive: true });
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

describe(`BanGUI in chromium (${backend})`, () => {
  it("leads to setup, shows the fail2ban connection there, and creates the admin", async (t) => {
    const ctx = await context();
    const page = await ctx.newPage();
    await page.goto(`${stack.base}/jails`);
    await page.waitForURL("**/setup");
    const connection = page.getByRole("region", { name: "fail2ban connection" });
    // The scheduler probes fail2ban every second; the page polls.
    await connection.getByText(/fail2ban reachable: 4 jails/).waitFor({ timeout: 20_000 });
    await connection.getByText(stack.f2b.socket).waitFor();
    await connection.getByText(join(stack.f2b.dir, "conf")).waitFor();
    for (const scheme of ["light", "dark"]) {
      await page.emulateMedia({ colorScheme: scheme });
      await page.screenshot({ path: join(SHOTS, `setup-${scheme}.png`), fullPage: true });
    }
    await page.emulateMedia({ colorScheme: "light" });
    await page.getByLabel("Username").fill(ADMIN.user);
    await page.getByLabel("Password").and(page.locator("input")).fill(ADMIN.password);
    await page.getByText("Strength: strong").or(page.getByText("Strength: good")).waitFor();
    await page.getByRole("button", { name: "Create administrator" }).click();
    await page.waitForURL(`${stack.base}/`);
    await page.getByRole("status", { name: "fail2ban status" }).getByText("fail2ban reachable").waitFor();
    // Times follow the zone chosen at setup (the browser's, Europe/Berlin).
    await page.getByRole("button", { name: `Time zone: ${ZONE}` }).waitFor();
    adminState = await ctx.storageState();
    // Setup is gone for good.
    await page.goto(`${stack.base}/setup`);
    await page.waitForURL("**/");
    t.diagnostic("setup done");
    await ctx.close();
  });

  it("says so clearly when the password is wrong, then signs in and returns to the page asked for", async () => {
    const ctx = await context();
    const page = await ctx.newPage();
    await page.goto(`${stack.base}/history`);
    await page.waitForURL("**/login?next=%2Fhistory");
    await page.getByLabel("Username").fill(ADMIN.user);
    await page.getByLabel("Password").fill("not the password at all");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").getByText("Wrong username or password.").waitFor();
    assert.match(page.url(), /\/login/);
    await page.getByLabel("Password").fill(ADMIN.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL("**/history");
    await ctx.close();
  });

  it("is usable with the keyboard alone: sign in, then move through the sidebar", async () => {
    const ctx = await context();
    const page = await ctx.newPage();
    await page.goto(`${stack.base}/login`);
    await page.getByLabel("Username").focus();
    await page.keyboard.type(ADMIN.user);
    await page.keyboard.press("Tab");
    await page.keyboard.type(ADMIN.password);
    await page.keyboard.press("Enter");
    await page.waitForURL(`${stack.base}/`);
    // Tab from the top of the page reaches the sidebar links, in order, with visible focus.
    await page.locator("body").focus();
    const seen = [];
    for (let i = 0; i < 8 && !seen.includes("World Map"); i++) {
      await page.keyboard.press("Tab");
      seen.push(await page.evaluate(() => document.activeElement?.textContent?.trim() ?? ""));
    }
    assert.ok(seen.includes("World Map"), `Tab order: ${JSON.stringify(seen)}`);
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    assert.notEqual(outline, "none", "the focused link shows a focus outline");
    await page.keyboard.press("Enter");
    await page.waitForURL("**/map");
    await ctx.close();
  });

  it("shows a ban that arrives from log lines, unbans it from the jail page, and finds it in history and on the map", async () => {
    const ctx = await context({ storageState: adminState });
    const page = await ctx.newPage();
    stack.f2b.fail(IP);
    await waitFor(`fail2ban banning ${IP}`, () => stack.f2b.banned("web-auth").includes(IP), 30_000);
    await page.goto(`${stack.base}/jails/web-auth`);
    const table = page.getByRole("table", { name: "Bans in web-auth" });
    const row = table.getByRole("row").filter({ hasText: IP });
    await row.waitFor({ timeout: 30_000 });
    await row.getByRole("button", { name: "Unban" }).click();
    // The command is shown live: queued (or running) first, then applied.
    await page.getByText(new RegExp(`Unban ${IP.replaceAll(".", "\\.")} from web-auth: (queued|running|applied)`)).first().waitFor();
    await page.getByText(`Unban ${IP} from web-auth: applied`).waitFor({ timeout: 30_000 });
    assert.ok(!stack.f2b.banned("web-auth").includes(IP), "fail2ban no longer bans it");
    await row.waitFor({ state: "detached", timeout: 15_000 });

    // History remembers it, ended by the unban.
    await page.goto(`${stack.base}/history?ip=${IP}`);
    const hist = page.getByRole("table", { name: "Bans" }).getByRole("row").filter({ hasText: IP });
    await hist.first().waitFor({ timeout: 20_000 });
    await hist.first().getByText("unbanned").waitFor({ timeout: 20_000 });
    await hist.first().getByRole("link", { name: IP }).click();
    await page.waitForURL(`**/history/${IP}`);
    await page.getByRole("table", { name: "Bans of this IP" }).getByText("web-auth").first().waitFor();

    // The map shades its country; clicking it filters the companion table to it.
    const geo = await apiCall(page, "GET", `/geo/${IP}`);
    assert.equal(geo.status, 200, JSON.stringify(geo));
    assert.ok(geo.body.country_name, `a country for ${IP}: ${JSON.stringify(geo.body)}`);
    await page.goto(`${stack.base}/map`);
    const country = page.locator(`path[aria-label^="${geo.body.country_name}: "]`);
    await country.waitFor({ timeout: 20_000 });
    // Small countries are a few pixels at world scale: choose it with the keyboard, which
    // the map supports for every shaded country.
    await country.focus();
    await page.keyboard.press("Enter");
    await page.waitForURL((u) => u.searchParams.get("country") === geo.body.country);
    await page.getByRole("heading", { name: `Bans from ${geo.body.country_name}` }).waitFor();
    await page.getByRole("table", { name: "Bans" }).getByRole("row").filter({ hasText: IP }).first().waitFor();
    await page.getByRole("button", { name: "Clear" }).waitFor();
    await ctx.close();
  });

  it("offers a viewer no ban, unban or jail actions", async () => {
    const admin = await context({ storageState: adminState });
    const page = await admin.newPage();
    await page.goto(`${stack.base}/jails`);
    const created = await apiCall(page, "POST", "/users", { username: VIEWER.user, password: VIEWER.password, role: "viewer" });
    assert.equal(created.status, 201, JSON.stringify(created));
    stack.f2b.fail(OTHER_IP);
    await waitFor(`fail2ban banning ${OTHER_IP}`, () => stack.f2b.banned("web-auth").includes(OTHER_IP), 30_000);
    // An admin sees the actions (so their absence below means something).
    await page.getByRole("button", { name: "Actions for web-auth" }).waitFor();
    await admin.close();

    const ctx = await context();
    const viewer = await ctx.newPage();
    await login(viewer, VIEWER);
    await viewer.goto(`${stack.base}/jails`);
    await viewer.getByRole("table", { name: "Jails" }).getByText("web-auth").waitFor();
    await settle(viewer);
    for (const name of [/^Ban\b/, /^Unban/, /Clear all bans/, /Reload all/, /^Actions for/]) {
      assert.equal(await viewer.getByRole("button", { name }).count(), 0, `jails page offers ${name}`);
    }
    await viewer.goto(`${stack.base}/jails/web-auth`);
    await viewer.getByRole("table", { name: "Bans in web-auth" }).getByText(OTHER_IP).waitFor({ timeout: 30_000 });
    await settle(viewer);
    assert.equal(await viewer.getByRole("button", { name: "Unban" }).count(), 0, "jail page offers unban");
    assert.equal(await viewer.getByRole("button", { name: /^Add/ }).count(), 0, "jail page offers ignore-list edits");
    await viewer.goto(`${stack.base}/history/${OTHER_IP}`);
    await viewer.getByRole("table", { name: "Bans of this IP" }).waitFor({ timeout: 20_000 });
    for (const name of [/^Ban\b/, /^Unban/, /^Allowlist/]) {
      assert.equal(await viewer.getByRole("button", { name }).count(), 0, `timeline offers ${name}`);
    }
    // And the API refuses a viewer's ban anyway.
    const refused = await apiCall(viewer, "POST", "/bans", { jail: "web-auth", ips: ["192.0.2.9"] });
    assert.equal(refused.status, 403, JSON.stringify(refused));
    await ctx.close();
  });

  it("saves a screenshot of every page in both themes, and every page passes WCAG 2.1 AA checks", async () => {
    const pages = [
      ["dashboard", "/"],
      ["map", "/map"],
      ["jails", "/jails"],
      ["jail-detail", "/jails/web-auth"],
      ["history", "/history"],
      ["ip-timeline", `/history/${OTHER_IP}`],
      ["login", "/login"],
    ];
    const problems = [];
    for (const scheme of ["light", "dark"]) {
      // bypassCSP: axe is injected as an inline script, which the UI's CSP rightly forbids.
      const ctx = await context({ colorScheme: scheme, bypassCSP: true, storageState: adminState });
      for (const [name, path] of pages) {
        const page = await ctx.newPage();
        if (name === "login") await page.context().clearCookies();
        await page.goto(`${stack.base}${path}`);
        await settle(page);
        await page.screenshot({ path: join(SHOTS, `${name}-${scheme}.png`), fullPage: true });
        await page.addScriptTag({ content: AXE });
        const result = await page.evaluate(() =>
          axe.run(
            // Fluent UI's focus manager (tabster) adds invisible focus sentinels, aria-hidden
            // by design, that axe reports as aria-hidden-focus; everything else is checked.
            { exclude: [["[data-tabster-dummy]"]] },
            { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } },
          ),
        );
        for (const v of result.violations) {
          problems.push(`${name} (${scheme}): ${v.id} [${v.impact}] ${v.help}\n    ${v.nodes
            .slice(0, 4)
            .map((n) => `${n.target.join(" ")}: ${n.failureSummary?.split("\n").slice(1, 2).join(" ").trim()}`)
            .join("\n    ")}`);
        }
        await page.close();
      }
      await ctx.close();
    }
    assert.deepEqual(problems, [], `accessibility problems:\n${problems.join("\n")}`);
  });
});
