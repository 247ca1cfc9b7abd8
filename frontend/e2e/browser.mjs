// Debian's chromium for the scripts that measure or photograph a running BanGUI (never a
// downloaded browser), and a signed-in session to reuse across contexts.
import { chromium } from "playwright-core";

export const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"];

export function launch() {
  return chromium.launch({ executablePath: process.env.E2E_CHROMIUM ?? "/usr/bin/chromium", args: FLAGS, headless: true });
}

/** Signs in through the login page and returns the session as a storage state. */
export async function signedIn(browser, base, user, password) {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(`${base}/login`);
  await page.getByLabel("Username").fill(user);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL((u) => !u.pathname.startsWith("/login"));
  const state = await ctx.storageState();
  await ctx.close();
  return state;
}
