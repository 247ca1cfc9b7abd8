// End-to-end: Debian's chromium (driven by playwright-core, never a downloaded browser)
// against the real bangui-api, bangui-scheduler and a private fail2ban-server.
//
//   node --test e2e/ui.e2e.mjs        (test.sh runs it once per database)
//
// BANGUI_BIN_DIR: where bangui-api, bangui-scheduler and bangui-migrate are (default
// ../target/debug); E2E_DATABASE_URL: a PostgreSQL database to use (default: a SQLite
// file); E2E_SCREENSHOTS: where the screenshots of every page in both themes go (default
// ../target/e2e-screenshots/<backend>); E2E_SWEEP=1: run the layout sweep at both
// viewports (390×844 and 1440×900; otherwise 1440×900 only), which test.sh does on one
// database.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
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

const DESKTOP = { width: 1440, height: 900 };
const PHONE = { width: 390, height: 844 };
const SWEEP = process.env.E2E_SWEEP === "1";

let stack;
let browser;
let adminState;
/** Uncaught errors and unhandled promise rejections of every page, checked at the end. */
const pageErrors = [];

async function context(opts = {}) {
  const ctx = await browser.newContext({ viewport: DESKTOP, timezoneId: ZONE, locale: "en-GB", ...opts });
  ctx.on("page", (p) => p.on("pageerror", (e) => pageErrors.push(`${p.url()}: ${e.message}`)));
  return ctx;
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

/** A CSV download with the page's session cookie, as the export link makes it. */
function apiCsv(page, href) {
  return page.evaluate(async (h) => (await fetch(h)).text(), href);
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
    // The setup page holds up on a phone too.
    await page.setViewportSize(PHONE);
    await page.screenshot({ path: join(SHOTS, "setup-phone-dark.png"), fullPage: true });
    assert.deepEqual(await layoutProblems(page), []);
    await page.setViewportSize(DESKTOP);
    await page.emulateMedia({ colorScheme: "light" });
    await page.getByLabel("Username").fill(ADMIN.user);
    // The meter shows the server's verdict: a guessable password is named and refused
    // before it is sent, and the button waits for an acceptable one.
    const password = page.getByLabel("Password").and(page.locator("input"));
    const create = page.getByRole("button", { name: "Create administrator" });
    await password.fill("password1234");
    await page.getByText(/Strength: (very weak|weak), not accepted/).waitFor();
    assert.equal(await create.isDisabled(), true);
    await page.screenshot({ path: join(SHOTS, "setup-weak-password.png"), fullPage: true });
    await password.fill(ADMIN.password);
    await page.getByText(/Strength: (strong|very strong)$/).waitFor();
    await create.click();
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
    // The refused password is cleared, and the field has focus for the next try.
    assert.equal(await page.getByLabel("Password").inputValue(), "");
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("type")), "password");
    await page.getByRole("alert").getByText(/request ui-|request [0-9a-f-]+/).waitFor();
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
    const country = page.locator(`path[data-country="${geo.body.country}"]`);
    await country.waitFor({ timeout: 20_000 });
    // Small countries are a few pixels at world scale: the map is one tab stop whose arrow
    // keys walk the shaded countries; walk to this one and choose it with Enter.
    const map = page.getByRole("application", { name: /World map of bans per country/ });
    await map.focus();
    const readout = page.getByText(/bans? \(Enter to show them\)$/);
    for (let i = 0; i < 60; i++) {
      await page.keyboard.press("ArrowRight");
      if ((await readout.textContent()).startsWith(`${geo.body.country_name}:`)) break;
    }
    await page.keyboard.press("Enter");
    await page.waitForURL((u) => u.searchParams.get("country") === geo.body.country);
    await page.getByRole("heading", { name: `Bans from ${geo.body.country_name}` }).waitFor();
    await page.getByRole("table", { name: "Bans" }).getByRole("row").filter({ hasText: IP }).first().waitFor();
    await page.getByRole("button", { name: "Show every country" }).waitFor();
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
    for (const name of [/^Ban\b/, /^Unban/, /Clear all/, /Reload all/, /^Actions for/, /^Stop/, /^Start$/]) {
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

  it("bans with the form: names each refused entry and the API's reason inline, keeps focus, and says when an unban changed nothing", async () => {
    const ctx = await context({ storageState: adminState });
    const page = await ctx.newPage();
    await page.goto(`${stack.base}/jails`);
    const form = page.getByRole("form", { name: "Ban", exact: true });
    await form.getByRole("combobox").click();
    await page.getByRole("option", { name: "web-auth" }).click();
    const ips = form.getByLabel(/IPs or networks/);
    // The field's own message (role alert), not the notice that repeats it.
    const field = (text) => form.getByRole("alert").filter({ hasText: text });

    await ips.fill("192.0.2.5, 192.0.2.6 bogus");
    await form.getByRole("button", { name: "Ban" }).click();
    await field(/"bogus" is not an IPv4 or IPv6 address/).waitFor();
    assert.equal(await ips.inputValue(), "192.0.2.5, 192.0.2.6 bogus", "a refused entry stays in the field to be fixed");
    await form.getByText(/^request /).waitFor();

    await ips.fill("127.0.0.1");
    await form.getByRole("button", { name: "Ban" }).click();
    await field(/"127\.0\.0\.1" is an unspecified, loopback/).waitFor();
    await ips.fill("0.0.0.0/0");
    await form.getByRole("button", { name: "Ban" }).click();
    await field(/broader than/).waitFor();

    // A good ban: applied, the field emptied, and focus still in it for the next address.
    await ips.fill("192.0.2.50");
    await form.getByRole("button", { name: "Ban" }).click();
    await page.getByText("Ban 192.0.2.50 in web-auth: applied").waitFor({ timeout: 30_000 });
    assert.equal(await ips.inputValue(), "");
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("placeholder")), "203.0.113.7 2001:db8::/64");

    // An unban of an address nobody banned says so instead of "applied".
    const unban = page.getByRole("form", { name: "Unban", exact: true });
    await unban.getByLabel("IPs").fill("192.0.2.77");
    await unban.getByRole("button", { name: "Unban" }).click();
    await page.getByText("Unban 192.0.2.77 everywhere: no change").waitFor({ timeout: 30_000 });
    await page.getByText("Nothing to unban: it was not banned.").waitFor();

    // Clear all says how many bans it would lift (and is cancelled here).
    const status = await apiCall(page, "GET", "/status");
    const clear = page.getByRole("button", { name: /^Clear all/ });
    await page.getByRole("button", { name: new RegExp(`^Clear all ${status.body.currently_banned} bans?…$`) }).waitFor({ timeout: 15_000 });
    await clear.click();
    await page.getByRole("dialog").getByText(/This lifts all \d+ current bans? in every jail/).waitFor();
    await page.getByRole("dialog").getByRole("button", { name: "Cancel" }).click();

    // The IP's timeline says who made the manual ban and that it still holds.
    await page.goto(`${stack.base}/history/192.0.2.50`);
    const row = page.getByRole("table", { name: "Bans of this IP" }).getByRole("row").filter({ hasText: "web-auth" });
    await row.getByText("manual").waitFor({ timeout: 20_000 });
    await row.getByText(ADMIN.user).waitFor();
    await row.getByText("still banned").waitFor();
    await ctx.close();
  });

  it("adds and removes an ignore-list entry on the jail page, and the list agrees at once", async () => {
    const ctx = await context({ storageState: adminState });
    const page = await ctx.newPage();
    await page.goto(`${stack.base}/jails/web-auth`);
    const entry = "198.51.100.0/24";
    const list = page.getByRole("list", { name: "Ignored addresses" });
    await page.getByLabel("Add an IP or CIDR").fill(entry);
    await page.getByRole("button", { name: "Add", exact: true }).click();
    await page.getByText(`Ignore ${entry} in web-auth: applied`).waitFor({ timeout: 30_000 });
    // The scheduler refreshed the jail before it reported success: the list shows it
    // with the next read, not after the jail sync's settings cache ages out.
    await list.getByText(entry).waitFor({ timeout: 3_000 });
    assert.ok(stack.f2b.client("get", "web-auth", "ignoreip").includes("198.51.100.0/24"), "fail2ban ignores it");
    await page.getByRole("button", { name: `Stop ignoring ${entry}` }).click();
    await page.getByText(`Stop ignoring ${entry} in web-auth: applied`).waitFor({ timeout: 30_000 });
    await list.getByText(entry).waitFor({ state: "detached", timeout: 3_000 });
    assert.ok(!stack.f2b.client("get", "web-auth", "ignoreip").includes("198.51.100.0/24"), "fail2ban no longer ignores it");
    // A bad entry is refused under the field, with the API's reason.
    await page.getByLabel("Add an IP or CIDR").fill("10.0.0.0/1");
    await page.getByRole("button", { name: "Add", exact: true }).click();
    await page.getByRole("alert").filter({ hasText: /broader than/ }).waitFor();
    await ctx.close();
  });

  it("stops a jail only after asking, starts it from its page, and every view agrees as soon as the command does", async () => {
    const ctx = await context({ storageState: adminState });
    const page = await ctx.newPage();
    await page.goto(`${stack.base}/jails/bulk`);
    const status = page.getByRole("status", { name: "fail2ban status" });
    await status.getByText("4 jails running").waitFor({ timeout: 20_000 });
    await page.getByRole("button", { name: "Stop…" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByText(/fail2ban stops watching this jail's logs/).waitFor();
    await dialog.getByRole("button", { name: "Stop bulk" }).click();
    await page.getByText("Stop bulk: applied").waitFor({ timeout: 30_000 });
    await page.getByRole("button", { name: "Start", exact: true }).waitFor({ timeout: 3_000 });
    await status.getByText("3 jails running").waitFor({ timeout: 3_000 });

    await page.getByRole("button", { name: "Start", exact: true }).click();
    await page.getByText("Start bulk: applied").waitFor({ timeout: 60_000 });
    await page.getByRole("button", { name: "Stop…" }).waitFor({ timeout: 3_000 });
    await status.getByText("4 jails running").waitFor({ timeout: 3_000 });
    // The jail list agrees too: the row says running and its menu offers Stop.
    await page.goto(`${stack.base}/jails`);
    const row = page.getByRole("table", { name: "Jails" }).getByRole("row").filter({ hasText: "bulk" });
    await row.getByText("running").waitFor({ timeout: 3_000 });
    await row.getByRole("button", { name: "Actions for bulk" }).click();
    await page.getByRole("menuitem", { name: "Stop…" }).waitFor();
    await page.keyboard.press("Escape");
    await ctx.close();
  });

  it("shows a rejected history search as an error under its field, never the previous results", async () => {
    const ctx = await context({ storageState: adminState });
    const page = await ctx.newPage();
    await page.goto(`${stack.base}/history`);
    const table = page.getByRole("table", { name: "Bans" });
    await table.getByRole("row").nth(1).waitFor({ timeout: 20_000 });
    await page.getByLabel("IP, CIDR or prefix").fill("not/an-ip!");
    await page.getByRole("button", { name: "Search" }).click();
    await page.getByRole("alert").getByText("Could not load the history.").waitFor();
    assert.equal(await table.count(), 0, "the old results are gone");
    await page.getByRole("search").getByText(/not\/an-ip!/).first().waitFor();
    await ctx.close();
  });

  it("puts the dashboard's bans on the first screen, filters by a clicked chart, and marks the current trend bucket as partial", async () => {
    const ctx = await context({ storageState: adminState });
    const page = await ctx.newPage();
    await page.goto(`${stack.base}/`);
    const bans = page.getByRole("table", { name: "Bans" });
    await bans.getByRole("row").nth(1).waitFor({ timeout: 20_000 });
    const box = await bans.boundingBox();
    assert.ok(box && box.y < DESKTOP.height, `the ban table starts at ${box?.y} px`);

    // The trend's last bucket is still filling: drawn dashed, not as a drop.
    const trend = await apiCall(page, "GET", "/dashboard/trend?range=24h");
    assert.equal(trend.body.buckets.at(-1).partial, true, "the API marks the current bucket");
    assert.equal(trend.body.buckets.filter((b) => b.partial).length, 1);
    await page.locator('svg[aria-label^="Bans over time"] path[stroke-dasharray="4 4"]').first().waitFor();

    // A click on a jail's bar filters the page to that jail; the chip takes it off again.
    await page.getByRole("list", { name: "Bans per jail" }).getByRole("button", { name: /web-auth/ }).click();
    await page.waitForURL((u) => u.searchParams.get("jail") === "web-auth");
    const countries = page.getByRole("list", { name: "Bans per country" }).getByRole("button");
    await countries.first().waitFor();
    await countries.first().click();
    await page.waitForURL((u) => u.searchParams.has("country"));
    await page.getByText(/^Country: /).waitFor();
    await page.getByRole("button", { name: "Clear chart filters" }).click();
    await page.waitForURL((u) => !u.searchParams.has("country"));
    // A bucket of the trend narrows the range to it.
    await page.locator('svg[aria-label^="Bans over time"] rect[data-bucket]').last().click();
    await page.waitForURL((u) => u.searchParams.has("from") && u.searchParams.has("to"));
    await ctx.close();
  });

  it("counts bans of unknown country on the map, pages its list, is one tab stop, and zooms about its centre", async () => {
    const ctx = await context({ storageState: adminState });
    const page = await ctx.newPage();
    await page.goto(`${stack.base}/map`);
    // 192.0.2.50 (documentation space) has no country: counted beside the map.
    const unknown = page.getByRole("button", { name: /bans? from an unknown country$/ });
    await unknown.waitFor({ timeout: 20_000 });
    await unknown.click();
    await page.getByRole("heading", { name: "Bans from an unknown country" }).waitFor();
    await page.getByRole("table", { name: "Bans" }).getByText("192.0.2.50").first().waitFor();
    await page.getByRole("navigation", { name: "Pages of bans" }).waitFor();
    // No country shape is a tab stop of its own.
    assert.equal(await page.locator("svg path[tabindex]").count(), 0);
    const map = page.getByRole("application", { name: /World map/ });
    await page.getByRole("button", { name: "Zoom in" }).click();
    const [x, y, w, h] = (await map.getAttribute("viewBox")).split(" ").map(Number);
    assert.ok(Math.abs(x + w / 2 - 480) < 1 && Math.abs(y + h / 2 - 240) < 1, `zoomed about the centre: ${x} ${y} ${w} ${h}`);
    await ctx.close();
  });

  it("configures a jail: the change reviewed with its diff and fail2ban's verdict, saved, listed as a revision, and undone", async () => {
    const ctx = await context({ storageState: adminState });
    const page = await ctx.newPage();
    await page.goto(`${stack.base}/config/jails?q=web`);
    const table = page.getByRole("table", { name: "Configured jails" });
    await table.getByRole("link", { name: "web-auth" }).click();
    await page.waitForURL("**/config/jails/web-auth");
    const settings = page.getByRole("table", { name: "Effective settings" });
    await settings.getByRole("row").filter({ hasText: "maxretry" }).getByText("jail.conf:").waitFor({ timeout: 20_000 });
    await page.getByLabel("Max retry").fill("4");
    await page.getByRole("button", { name: "Review changes…" }).click();
    const dialog = page.getByRole("dialog", { name: "Review the change" });
    await dialog.getByText("+maxretry = 4").waitFor();
    await dialog.getByText("fail2ban accepts it").waitFor({ timeout: 20_000 });
    await dialog.getByText("OK: configuration test is successful").waitFor();
    await dialog.getByRole("button", { name: "Save and apply" }).click();
    await page.getByText("Save jail.d/web-auth.local: applied").waitFor({ timeout: 30_000 });
    assert.equal(stack.f2b.client("get", "web-auth", "maxretry").trim(), "4");
    await settings.getByRole("row").filter({ hasText: "maxretry" }).getByText("jail.d/web-auth.local:2").waitFor({ timeout: 15_000 });
    const revisions = page.getByRole("table", { name: "Revisions" });
    const row = revisions.getByRole("row").filter({ hasText: "edit" });
    await row.getByText("applied").waitFor({ timeout: 15_000 });
    await row.getByRole("button", { name: "Diff" }).click();
    await page.getByLabel(/^Revision \d+$/).getByText("+maxretry = 4").waitFor();
    // Undo: the file goes back to what it was (empty), fail2ban to maxretry 2.
    await row.getByRole("button", { name: "Undo" }).click();
    await page.getByText(/Undo revision \d+: applied/).waitFor({ timeout: 30_000 });
    assert.equal(stack.f2b.client("get", "web-auth", "maxretry").trim(), "2");
    await settings.getByRole("row").filter({ hasText: "maxretry" }).getByText("jail.conf:").waitFor({ timeout: 15_000 });
    // A change fail2ban refuses is never saved: the review says why.
    await page.getByRole("tab", { name: "Raw file" }).click();
    await page.waitForFunction(() => new URLSearchParams(location.search).get("editor") === "raw");
    const editor = page.getByLabel("Text of jail.d/web-auth.local");
    await editor.click();
    await page.keyboard.type("[web-auth]\nlogpath = /nonexistent/bangui.log\n");
    await page.getByRole("button", { name: "Review changes…" }).click();
    await dialog.getByText("fail2ban refuses it").waitFor({ timeout: 20_000 });
    await dialog.getByText(/Have not found any log file for web-auth/).waitFor();
    assert.equal(await dialog.getByRole("button", { name: "Save and apply" }).isDisabled(), true);
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await ctx.close();
  });

  it("shows a banner on every page when fail2ban stopped after a change and BanGUI rolled it back, until an admin acknowledges it", async () => {
    const ctx = await context({ storageState: adminState });
    const page = await ctx.newPage();
    await page.goto(`${stack.base}/config/jails/bulk`);
    await page.getByLabel("Max retry").fill("9");
    await page.getByRole("button", { name: "Review changes…" }).click();
    const dialog = page.getByRole("dialog", { name: "Review the change" });
    await dialog.getByText("fail2ban accepts it").waitFor({ timeout: 20_000 });
    await dialog.getByRole("button", { name: "Save and apply" }).click();
    await page.getByText("Save jail.d/bulk.local: applied").waitFor({ timeout: 30_000 });
    stack.f2b.stop();
    try {
      await page.goto(`${stack.base}/`);
      const banner = page.getByRole("alert").filter({ hasText: "fail2ban stopped after a configuration change" });
      await banner.waitFor({ timeout: 40_000 });
      await banner.getByText(/restored the previous file/).waitFor();
      await page.screenshot({ path: join(SHOTS, "config-alert.png"), fullPage: false });
      assert.equal(existsSync(join(stack.f2b.dir, "conf/jail.d/bulk.local")), false, "the file is gone again, as before the change");
    } finally {
      stack.f2b.start();
    }
    await page.getByRole("alert").filter({ hasText: "fail2ban stopped after a configuration change" }).getByRole("button", { name: "Acknowledge" }).click();
    await page.getByRole("alert").filter({ hasText: "fail2ban stopped after a configuration change" }).waitFor({ state: "detached", timeout: 15_000 });
    assert.equal(stack.f2b.client("get", "bulk", "maxretry").trim(), "3");
    await ctx.close();
  });

  it("allowlists a network from the Allowlist tab: a broad one only after confirming, in force in fail2ban, and removed again", async () => {
    const ctx = await context({ storageState: adminState });
    const page = await ctx.newPage();
    await page.goto(`${stack.base}/config/jails`);
    await page.getByRole("tab", { name: "Allowlist" }).click();
    await page.waitForURL("**/config/allowlist");
    const form = page.getByRole("form", { name: "Add to the allowlist" });
    await form.getByLabel("Address or network").fill("10.20.0.0/14");
    await form.getByLabel("Note").fill("branch offices");
    await form.getByRole("button", { name: "Add" }).click();
    await form.getByText(/covers more than a \/16/).waitFor();
    await form.getByLabel(/Yes: fail2ban should never ban anyone/).check();
    await form.getByRole("button", { name: "Add" }).click();
    const table = page.getByRole("table", { name: "Allowlist" });
    const row = table.getByRole("row").filter({ hasText: "10.20.0.0/14" });
    await row.getByText("in force").waitFor({ timeout: 30_000 });
    await row.getByText("branch offices").waitFor();
    assert.match(stack.f2b.client("get", "web-auth", "ignoreip"), /10\.20\.0\.0\/14/);
    await page.screenshot({ path: join(SHOTS, "allowlist.png"), fullPage: true });
    await row.getByRole("button", { name: "Remove 10.20.0.0/14" }).click();
    await row.waitFor({ state: "detached", timeout: 15_000 });
    await waitFor("the entry leaves fail2ban", () => !stack.f2b.client("get", "web-auth", "ignoreip").includes("10.20.0.0/14"), 30_000);
    await ctx.close();
  });

  it("tests regexes on pasted lines and a jail's filter on its log, with the captured host marked and fail2ban-regex's counts", async () => {
    const ctx = await context({ storageState: adminState });
    const page = await ctx.newPage();
    await page.goto(`${stack.base}/config/jails`);
    await page.getByRole("tab", { name: "Regex tester" }).click();
    await page.waitForURL("**/config/regex");
    const form = page.getByRole("form", { name: "Test regexes" });
    await form.getByRole("textbox", { name: /^failregex/ }).fill("failure from <HOST>$");
    await form.getByRole("textbox", { name: /^ignoreregex/ }).fill("from 192\\.0\\.2\\.9");
    await form.getByRole("textbox", { name: /^Lines/ }).fill("1700000000 failure from 192.0.2.5\nall good here\n1700000001 failure from 192.0.2.9\n");
    await form.getByRole("button", { name: "Test" }).click();
    await page.getByRole("button", { name: "Matched 1" }).waitFor({ timeout: 20_000 });
    await page.getByRole("button", { name: "Ignored 1" }).waitFor();
    await page.getByRole("button", { name: "Missed 1" }).waitFor();
    const table = page.getByRole("table", { name: "Tested lines" });
    assert.equal(await table.locator("mark").first().textContent(), "192.0.2.5");
    await page.screenshot({ path: join(SHOTS, "regex-tester.png"), fullPage: true });
    // Only the missed ones.
    await page.getByRole("button", { name: "Missed 1" }).click();
    await table.getByText("all good here").waitFor();
    assert.equal(await table.getByText("192.0.2.5").count(), 0);
    // A regex fail2ban cannot compile: its words, with the request id.
    await form.getByRole("textbox", { name: /^failregex/ }).fill("failure from <HOST> (");
    await form.getByRole("button", { name: "Test" }).click();
    await page.getByText(/The test failed \(regex_invalid\)/).waitFor({ timeout: 20_000 });
    // One click loads sshd's filter and its log; the log's lines are tested.
    writeFileSync(join(stack.f2b.dir, "auth.log"), "Dec  3 10:00:01 host sshd[7]: Failed password for root from 203.0.113.77 port 22 ssh2\n", { flag: "a" });
    await form.getByRole("combobox", { name: "Use a jail's filter and log" }).click();
    await page.getByRole("option", { name: /^sshd / }).click();
    assert.equal(await form.getByRole("textbox", { name: /^Filter/ }).inputValue(), "sshd");
    assert.match(await form.getByRole("textbox", { name: /^Log file/ }).inputValue(), /auth\.log$/);
    await form.getByRole("button", { name: "Test" }).click();
    await table.getByText("203.0.113.77").first().waitFor({ timeout: 20_000 });
    await ctx.close();
  });

  it("shows fail2ban's own log with levels, filtered by level and text", async () => {
    const ctx = await context({ storageState: adminState });
    const page = await ctx.newPage();
    await page.goto(`${stack.base}/config/jails`);
    await page.getByRole("tab", { name: "Log" }).click();
    await page.waitForURL("**/config/log");
    const list = page.getByRole("list", { name: "fail2ban's log" });
    await list.getByText(/Jail '?web-auth'? started/).first().waitFor({ timeout: 30_000 });
    await list.getByText("INFO").first().waitFor();
    await page.screenshot({ path: join(SHOTS, "fail2ban-log.png"), fullPage: true });
    await page.getByRole("combobox", { name: "Level" }).click();
    await page.getByRole("option", { name: "Warnings and errors" }).click();
    await waitFor("only warnings and errors", async () => (await list.getByText("INFO", { exact: true }).count()) === 0 || (await page.getByText("No entry matches.").count()) > 0, 15_000);
    await page.getByRole("combobox", { name: "Level" }).click();
    await page.getByRole("option", { name: "Every level" }).click();
    await page.getByLabel("Search").fill("web-auth");
    await waitFor("only web-auth's lines", async () => {
      const texts = await list.getByRole("listitem").allTextContents();
      return texts.length > 0 && texts.every((t) => t.includes("web-auth"));
    }, 15_000);
    await ctx.close();
  });

  it("lists filters and actions with the jails that use them, and shows one as fail2ban reads it", async () => {
    const ctx = await context({ storageState: adminState });
    const page = await ctx.newPage();
    await page.goto(`${stack.base}/config/jails`);
    await page.getByRole("tab", { name: "Filters" }).click();
    await page.waitForURL("**/config/filters");
    await page.getByLabel("Search filters").fill("sshd");
    await page.getByRole("button", { name: "Show filter sshd", exact: true }).click();
    const definition = page.getByRole("table", { name: "[Definition]" });
    await definition.getByText("failregex", { exact: true }).waitFor({ timeout: 20_000 });
    await definition.getByText(/filter\.d\/sshd\.conf:\d+/).first().waitFor();
    await page.getByText(/Used by: sshd/).waitFor();
    await page.screenshot({ path: join(SHOTS, "filter-detail.png"), fullPage: true });
    await page.getByRole("tab", { name: "Actions" }).click();
    await page.waitForURL("**/config/actions");
    await page.getByRole("table", { name: "Actions" }).getByRole("button", { name: /^Show action / }).first().waitFor({ timeout: 20_000 });
    await ctx.close();
  });

  it("creates a filter, edits its override and deletes it, each through the write path", async () => {
    const ctx = await context({ storageState: adminState });
    const page = await ctx.newPage();
    await page.goto(`${stack.base}/config/filters`);
    await page.getByRole("button", { name: "New filter…" }).click();
    const dialog = page.getByRole("dialog", { name: "New filter" });
    await dialog.getByRole("textbox", { name: /^Name/ }).fill("bangui-ui-app");
    await dialog.getByRole("button", { name: "Create" }).click();
    await dialog.waitFor({ state: "detached", timeout: 30_000 });
    await page.getByRole("heading", { name: "bangui-ui-app", exact: true }).waitFor({ timeout: 20_000 });
    const definition = page.getByRole("table", { name: "[Definition]" });
    await definition.getByText(/filter\.d\/bangui-ui-app\.conf:\d+/).first().waitFor({ timeout: 20_000 });
    // Its override, as text; a regex fail2ban cannot compile is refused with its words.
    await page.getByRole("button", { name: "Create override" }).click();
    const editor = page.getByRole("textbox", { name: "Text of filter.d/bangui-ui-app.local" });
    await editor.waitFor({ timeout: 20_000 });
    await editor.fill("[Definition]\nignoreregex = ^(unclosed\n");
    await page.getByRole("button", { name: "Save filter.d/bangui-ui-app.local" }).click();
    await page.getByText(/cannot load the filter/).first().waitFor({ timeout: 30_000 });
    await editor.fill("[Definition]\nignoreregex = ^Login failed for root\n");
    await page.getByRole("button", { name: "Save filter.d/bangui-ui-app.local" }).click();
    await page.getByText("ignoreregex = ^Login failed for root").waitFor({ timeout: 30_000 });
    await page.screenshot({ path: join(SHOTS, "filter-edited.png"), fullPage: true });
    await page.getByRole("button", { name: "Delete…" }).click();
    await page.getByRole("dialog", { name: "Delete bangui-ui-app?" }).getByRole("button", { name: "Delete" }).click();
    await waitFor("the filter is gone", async () => !existsSync(join(stack.f2b.dir, "conf/filter.d/bangui-ui-app.conf")), 30_000);
    await ctx.close();
  });

  it("shows fail2ban's settings as running and configured, and changes the log level", async () => {
    const ctx = await context({ storageState: adminState });
    const page = await ctx.newPage();
    await page.goto(`${stack.base}/config/jails`);
    await page.getByRole("tab", { name: "Server" }).click();
    await page.waitForURL("**/config/server");
    const table = page.getByRole("table", { name: "fail2ban's settings" });
    await table.getByText("loglevel").waitFor({ timeout: 20_000 });
    await page.screenshot({ path: join(SHOTS, "server.png"), fullPage: true });
    await page.getByRole("combobox", { name: "Log level" }).click();
    await page.getByRole("option", { name: "DEBUG", exact: true }).click();
    await page.getByRole("button", { name: "Save settings" }).click();
    await waitFor("fail2ban logs at DEBUG", async () => stack.f2b.client("get", "loglevel").includes("DEBUG"), 30_000);
    await waitFor("the table shows it", async () => (await table.getByText("DEBUG").count()) >= 2, 30_000);
    // And back, so later tests see fail2ban as it was.
    await page.getByRole("combobox", { name: "Log level" }).click();
    await page.getByRole("option", { name: "INFO", exact: true }).click();
    await page.getByRole("button", { name: "Save settings" }).click();
    await waitFor("fail2ban logs at INFO", async () => stack.f2b.client("get", "loglevel").includes("INFO"), 30_000);
    await page.getByRole("button", { name: "Flush logs" }).click();
    await page.getByText(/Flush fail2ban's logs: applied/).waitFor({ timeout: 20_000 });
    await ctx.close();
  });

  it("offers a skip link first, and on a phone a menu that opens the navigation", async () => {
    const ctx = await context({ storageState: adminState });
    const page = await ctx.newPage();
    await page.goto(`${stack.base}/jails`);
    await page.getByRole("table", { name: "Jails" }).waitFor({ timeout: 20_000 });
    await page.keyboard.press("Tab");
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Skip to content");
    await page.keyboard.press("Enter");
    assert.equal(await page.evaluate(() => document.activeElement?.id), "content");
    await ctx.close();

    const phone = await context({ storageState: adminState, viewport: PHONE });
    const p = await phone.newPage();
    await p.goto(`${stack.base}/jails`);
    await p.getByRole("list", { name: "Jails" }).waitFor({ timeout: 20_000 });
    assert.equal(await p.getByRole("navigation", { name: "Main" }).count(), 0, "the sidebar is folded away");
    await p.getByRole("button", { name: "Menu" }).click();
    await p.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "History" }).click();
    await p.waitForURL("**/history");
    await phone.close();
  });

  it("sends the dashboard compressed: brotli assets, gzipped JSON, and a first load within 250 kB on the wire", async (t) => {
    const ctx = await context({ storageState: adminState });
    const page = await ctx.newPage();
    const cdp = await ctx.newCDPSession(page);
    await cdp.send("Network.enable");
    const sizes = new Map();
    const encodings = new Map();
    cdp.on("Network.responseReceived", (e) => encodings.set(e.requestId, [e.response.url, e.response.headers["content-encoding"] ?? e.response.headers["Content-Encoding"]]));
    cdp.on("Network.loadingFinished", (e) => sizes.set(e.requestId, e.encodedDataLength));
    await page.goto(`${stack.base}/`);
    await settle(page);
    const total = [...sizes.values()].reduce((a, b) => a + b, 0);
    const scripts = [...encodings.values()].filter(([url]) => url.endsWith(".js"));
    assert.ok(scripts.length > 0);
    for (const [url, enc] of scripts) assert.equal(enc, "br", `${url} sent as ${enc}`);
    t.diagnostic(`dashboard first load: ${(total / 1024).toFixed(1)} kB over ${sizes.size} requests`);
    writeFileSync(join(SHOTS, "wire.json"), JSON.stringify({ bytes: total, requests: sizes.size }));
    assert.ok(total <= 250 * 1024, `the first load moved ${total} bytes`);
    // JSON above the threshold is gzipped (the OpenAPI document is a large one).
    const spec = await fetch(`${stack.base}/api/v1/openapi.json`, { headers: { "Accept-Encoding": "gzip" } });
    assert.equal(spec.headers.get("content-encoding"), "gzip");
    assert.match(spec.headers.get("vary") ?? "", /accept-encoding/i);
    const plain = await fetch(`${stack.base}/api/v1/openapi.json`, { headers: { "Accept-Encoding": "identity" } });
    assert.equal(plain.headers.get("content-encoding"), null);
    await ctx.close();
  });

  it("adds a blocklist source with a live preview, imports it now and shows the import log", async () => {
    const list = "# test list\n198.18.77.1\n198.18.78.0/24 ; a network\n2001:db8:beef::/48\nnot-an-address\n";
    const server = createServer((_, res) => res.end(list));
    await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
    const url = `http://127.0.0.1:${server.address().port}/drop.txt`;
    const ctx = await context({ storageState: adminState });
    const page = await ctx.newPage();
    await page.goto(`${stack.base}/`);
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Blocklists" }).click();
    await page.waitForURL("**/blocklists");
    await page.getByRole("button", { name: "Add source" }).click();
    const form = page.getByRole("form", { name: "Add a blocklist source" });
    await form.getByRole("textbox", { name: /^Name/ }).fill("UI test list");
    await form.getByRole("textbox", { name: /^URL/ }).fill(url);
    await form.getByRole("button", { name: "Preview" }).click();
    const preview = form.getByLabel("Preview");
    await preview.getByText(/3 entries, 1 invalid lines/).waitFor({ timeout: 30_000 });
    await preview.getByText(/not-an-address/).waitFor();
    await page.screenshot({ path: join(SHOTS, "blocklist-preview.png"), fullPage: true });
    await form.getByRole("checkbox", { name: /Enabled/ }).uncheck();
    await form.getByRole("button", { name: "Add source" }).click();
    await form.waitFor({ state: "detached", timeout: 20_000 });
    await page.getByRole("button", { name: "Import UI test list now" }).click();
    await page.getByText(/Import UI test list: applied/).waitFor({ timeout: 60_000 });
    await waitFor("fail2ban bans the list", async () => stack.f2b.client("get", "blocklist-import", "banip").includes("198.18.77.1"), 30_000);
    const log = page.getByRole("table", { name: "Import log" });
    await log.getByText("applied").first().waitFor({ timeout: 20_000 });
    await log.getByRole("button", { name: "Details" }).first().click();
    await page.getByText(/\+3 banned/).waitFor();
    await page.screenshot({ path: join(SHOTS, "blocklists.png"), fullPage: true });
    const phone = await context({ storageState: adminState, viewport: PHONE, colorScheme: "dark" });
    const p = await phone.newPage();
    await p.goto(`${stack.base}/blocklists`);
    await p.getByRole("list", { name: "Blocklist sources" }).getByText("UI test list").waitFor({ timeout: 20_000 });
    await p.screenshot({ path: join(SHOTS, "blocklists-phone-populated.png"), fullPage: true });
    await phone.close();
    // Deleted with its entries: fail2ban no longer holds them.
    await page.getByRole("button", { name: "Remove UI test list" }).click();
    await page.getByRole("dialog", { name: "Remove UI test list?" }).getByRole("button", { name: "Delete and unban" }).click();
    await waitFor("fail2ban lifts the list", async () => !stack.f2b.client("get", "blocklist-import", "banip").includes("198.18.77.1"), 30_000);
    await ctx.close();
    server.close();
  });

  it("runs the team from the browser: a user created and promoted, a token shown once and revoked, an action found by its request id, the time zone changed", async () => {
    const ctx = await context({ storageState: adminState });
    const page = await ctx.newPage();
    const nav = page.getByRole("navigation", { name: "Main" });
    await page.goto(`${stack.base}/`);
    await nav.getByRole("link", { name: "Administration" }).click();
    await page.waitForURL("**/admin/users");
    // The only admin is protected, and the page says why before anyone tries.
    await page.getByText("last admin").waitFor();
    await page.getByText(/The last active admin cannot be demoted/).first().waitFor();
    const create = page.getByRole("form", { name: "Create a user" });
    await create.getByLabel("Username").fill("ops-lead");
    await create.getByLabel("Password").fill("teal compass orbit 2049");
    await create.getByRole("button", { name: "Create user" }).click();
    await page.getByText("Created ops-lead (viewer)").waitFor();
    await page.getByRole("combobox", { name: "Role of ops-lead" }).click();
    await page.getByRole("option", { name: "operator" }).click();
    await page.getByText("ops-lead is now operator").waitFor();
    const users = await apiCall(page, "GET", "/users");
    assert.equal(users.body.items.find((u) => u.username === "ops-lead").role, "operator");

    // A token: shown once, works, then revoked and refused.
    await page.getByRole("tab", { name: "API tokens" }).click();
    await page.waitForURL("**/admin/tokens");
    const tokenForm = page.getByRole("form", { name: "Create an API token" });
    await tokenForm.getByLabel("Name").fill("grafana");
    await tokenForm.getByRole("button", { name: "Create token" }).click();
    const secret = (await page.locator("[data-new-token]").textContent()).trim();
    assert.match(secret, /^bgt_/);
    const withToken = () => fetch(`${stack.base}/api/v1/status`, { headers: { Authorization: `Bearer ${secret}` } });
    assert.equal((await withToken()).status, 200);
    await page.getByRole("button", { name: "Done" }).click();
    assert.equal(await page.locator("[data-new-token]").count(), 0, "shown once");
    await page.getByRole("button", { name: "Revoke grafana" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Revoke" }).click();
    await page.getByText("Revoked grafana").waitFor();
    await page.getByRole("table", { name: "Everyone's API tokens" }).getByText("revoked").waitFor();
    assert.equal((await withToken()).status, 401);

    // An action found in the audit log by its request id, with its command's outcome.
    const requestId = `ui-e2e-${Date.now()}`;
    const banned = await page.evaluate(
      async ([id, ip]) => {
        const r = await fetch("/api/v1/bans?wait=5s", {
          method: "POST",
          headers: { "Content-Type": "application/json", "X-Requested-With": "bangui", "X-Request-Id": id },
          body: JSON.stringify({ jail: "bulk", ips: [ip] }),
        });
        return r.json();
      },
      [requestId, "198.51.100.231"],
    );
    assert.equal(banned.status, "succeeded");
    await page.getByRole("tab", { name: "Audit log" }).click();
    const filter = page.getByRole("form", { name: "Filter the audit log" });
    await filter.getByLabel("Request id").fill(requestId);
    await filter.getByRole("button", { name: "Filter" }).click();
    const audit = page.getByRole("table", { name: "Audit log" });
    await audit.getByText("command.ban").waitFor();
    await audit.getByText("succeeded").waitFor();
    const exportLink = page.getByRole("link", { name: "Export CSV" });
    assert.match(await exportLink.getAttribute("href"), new RegExp(`request_id=${requestId}`));
    const csv = await apiCsv(page, await exportLink.getAttribute("href"));
    assert.match(csv, new RegExp(`,${requestId},command\\.ban,bulk,queued,`));

    // The command queue shows it too, with the same id.
    await page.getByRole("tab", { name: "Commands" }).click();
    await page.getByRole("table", { name: "Commands" }).locator(`[data-request-id="${requestId}"]`).waitFor();

    // The IP's timeline answers who banned it and from which request.
    await page.goto(`${stack.base}/history/198.51.100.231`);
    await page.getByRole("table", { name: "Bans of this IP" }).locator(`[data-request-id="${requestId}"]`).waitFor({ timeout: 20_000 });
    await page.goto(`${stack.base}/admin/commands`);

    // The System page: a leading scheduler and fail2ban reachable.
    await page.getByRole("tab", { name: "System" }).click();
    await page.getByRole("table", { name: "Scheduler processes" }).getByText("leader").waitFor({ timeout: 20_000 });
    await page.getByText(/reachable · v/).waitFor();

    // The time zone changed: times move at once, with no reload.
    await page.goto(`${stack.base}/admin/audit?request_id=${requestId}`);
    const timeCell = page.getByRole("table", { name: "Audit log" }).locator("tbody tr").first().locator("td").first();
    await timeCell.waitFor();
    const before = await timeCell.textContent();
    await page.getByRole("tab", { name: "Settings" }).click();
    const zone = page.getByRole("combobox", { name: "Time zone" });
    await zone.click();
    await zone.fill("");
    await zone.pressSequentially("Asia/Tok");
    await page.getByRole("option", { name: "Asia/Tokyo" }).click();
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByText("Settings saved").waitFor();
    await page.getByRole("button", { name: "Time zone: Asia/Tokyo" }).waitFor();
    await page.getByRole("tab", { name: "Audit log" }).click();
    await filter.getByLabel("Request id").fill(requestId);
    await filter.getByRole("button", { name: "Filter" }).click();
    await timeCell.waitFor();
    await waitFor("the time moved", async () => (await timeCell.textContent()) !== before, 10_000);
    const restored = await apiCall(page, "PUT", "/settings", { timezone: ZONE });
    assert.equal(restored.status, 200);

    // The new operator sees no administration, and the pages say why.
    const other = await context();
    const op = await other.newPage();
    await login(op, { user: "ops-lead", password: "teal compass orbit 2049" });
    assert.equal(await op.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Administration" }).count(), 0);
    await op.goto(`${stack.base}/admin/users`);
    await op.getByText("This page needs the admin role.").waitFor();
    // Everyone manages their own tokens.
    await op.goto(`${stack.base}/admin/tokens`);
    await op.getByRole("form", { name: "Create an API token" }).waitFor();
    await other.close();
    await ctx.close();
  });

  it(`lays out every page without sideways scrolling or overlapping cells (${SWEEP ? "390×844 and 1440×900" : "1440×900"}, both themes), saves screenshots, and passes WCAG 2.1 AA checks`, async () => {
    const pages = [
      ["dashboard", "/"],
      ["map", "/map"],
      ["jails", "/jails"],
      ["jail-detail", "/jails/web-auth"],
      ["history", "/history"],
      ["ip-timeline", `/history/${OTHER_IP}`],
      ["config", "/config/jails"],
      ["config-jail", "/config/jails/web-auth"],
      ["config-jail-raw", "/config/jails/web-auth?editor=raw"],
      ["allowlist", "/config/allowlist"],
      ["filters", "/config/filters"],
      ["filter-detail", "/config/filters?name=sshd"],
      ["actions", "/config/actions"],
      ["regex-tester", "/config/regex"],
      ["fail2ban-log", "/config/log"],
      ["server", "/config/server"],
      ["blocklists", "/blocklists"],
      ["admin-users", "/admin/users"],
      ["admin-tokens", "/admin/tokens"],
      ["admin-audit", "/admin/audit"],
      ["admin-commands", "/admin/commands"],
      ["admin-system", "/admin/system"],
      ["admin-settings", "/admin/settings"],
      ["login", "/login"],
    ];
    const problems = [];
    for (const [size, viewport] of SWEEP ? [["phone", PHONE], ["desktop", DESKTOP]] : [["desktop", DESKTOP]]) {
      for (const scheme of ["light", "dark"]) {
        // bypassCSP: axe is injected as an inline script, which the UI's CSP rightly forbids.
        const ctx = await context({ viewport, colorScheme: scheme, bypassCSP: true, storageState: adminState });
        for (const [name, path] of pages) {
          const page = await ctx.newPage();
          if (name === "login") await page.context().clearCookies();
          await page.goto(`${stack.base}${path}`);
          await settle(page);
          await page.screenshot({ path: join(SHOTS, `${name}-${size}-${scheme}.png`), fullPage: true });
          for (const p of await layoutProblems(page)) problems.push(`${name} ${size} ${scheme}: ${p}`);
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
            problems.push(`${name} ${size} ${scheme}: ${v.id} [${v.impact}] ${v.help}\n    ${v.nodes
              .slice(0, 4)
              .map((n) => `${n.target.join(" ")}: ${n.failureSummary?.split("\n").slice(1, 2).join(" ").trim()}`)
              .join("\n    ")}`);
          }
          await page.close();
        }
        await ctx.close();
      }
    }
    assert.deepEqual(problems, [], `layout and accessibility problems:\n${problems.join("\n")}`);
  });

  it("raised no uncaught error or unhandled promise rejection in any page", () => {
    assert.deepEqual(pageErrors, []);
  });
});

/**
 * What is wrong with the page's layout: a document wider than the viewport, or a table
 * cell whose content spills out of its box (printed over its neighbour).
 */
function layoutProblems(page) {
  return page.evaluate(() => {
    const out = [];
    const width = document.documentElement.clientWidth;
    if (document.documentElement.scrollWidth > width + 1) out.push(`the page scrolls sideways: ${document.documentElement.scrollWidth} px in ${width} px`);
    for (const cell of document.querySelectorAll("td, th")) {
      const box = cell.getBoundingClientRect();
      if (box.width === 0) continue;
      for (const child of cell.childNodes) {
        let r;
        if (child.nodeType === Node.TEXT_NODE) {
          if (!child.textContent.trim()) continue;
          const range = document.createRange();
          range.selectNodeContents(child);
          r = range.getBoundingClientRect();
        } else if (child.nodeType === Node.ELEMENT_NODE) r = child.getBoundingClientRect();
        else continue;
        if (r.width === 0) continue;
        if (r.right > box.right + 1 || r.left < box.left - 1) {
          out.push(`cell "${cell.textContent.trim().slice(0, 50)}" spills ${Math.round(Math.max(r.right - box.right, box.left - r.left))} px out of its box`);
          break;
        }
      }
    }
    return out.slice(0, 12);
  });
}
