// Measures how soon the dashboard paints data, in Debian's chromium over loopback:
// from navigation start to (a) the first ban row painted and (b) every panel loaded (no
// spinner left), for cold loads (new browser context: empty cache) and warm reloads.
//
//   node e2e/first-paint.mjs http://127.0.0.1:8080 admin 'correct horse battery staple' [runs]
//
// scripts/bench-ui.sh runs it against the 1 M-event benchmark database.
import { launch, signedIn } from "./browser.mjs";

const [base, user, password, runsArg] = process.argv.slice(2);
if (!base || !user || !password) {
  console.error("usage: first-paint.mjs BASE_URL USER PASSWORD [RUNS]");
  process.exit(2);
}
const runs = Number(runsArg ?? 10);

// Runs in the page before any of its scripts: notes when data first reaches the screen.
const PROBE = () => {
  const marks = {};
  window.__marks = marks;
  const painted = (name) => {
    if (marks[name] === undefined) {
      marks[name] = -1;
      // The frame after the DOM change is when it is on screen.
      requestAnimationFrame(() => requestAnimationFrame(() => (marks[name] = performance.now())));
    }
  };
  new MutationObserver(() => {
    if (document.querySelector('table[aria-label="Bans"] tbody tr')) painted("firstRow");
    if (document.querySelector("main svg path")) painted("firstChart");
    const panels = document.querySelectorAll("main h2, main h3").length;
    if (panels > 0 && !document.querySelector(".fui-Spinner") && document.querySelector('table[aria-label="Bans"] tbody tr') && document.querySelector("main svg path")) painted("complete");
  }).observe(document, { subtree: true, childList: true });
};

const browser = await launch();
const state = await signedIn(browser, base, user, password);

async function measure(page, go) {
  await go();
  // Polled from here (the UI's CSP rightly forbids the eval a waitForFunction needs); the
  // times themselves are taken in the page.
  const until = Date.now() + 60_000;
  while (Date.now() < until) {
    const marks = await page.evaluate(() => ({ ...window.__marks }));
    if (marks.complete > 0 && marks.firstRow > 0 && marks.firstChart > 0) return marks;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("the dashboard did not finish loading within 60 s");
}

const results = { cold: [], warm: [] };
// Bytes on the wire of each cold load (CDP: encoded body and headers, every request).
const wire = [];
for (let i = 0; i < runs; i++) {
  const ctx = await browser.newContext({ storageState: state, viewport: { width: 1440, height: 900 } });
  await ctx.addInitScript(PROBE);
  const page = await ctx.newPage();
  const cdp = await ctx.newCDPSession(page);
  await cdp.send("Network.enable");
  let bytes = 0;
  cdp.on("Network.loadingFinished", (e) => (bytes += e.encodedDataLength));
  results.cold.push(await measure(page, () => page.goto(`${base}/`)));
  await page.waitForLoadState("networkidle");
  wire.push(bytes);
  results.warm.push(await measure(page, () => page.reload()));
  await ctx.close();
}
await browser.close();

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const max = (xs) => Math.max(...xs);
console.log(`dashboard at ${base}, ${runs} runs each (ms from navigation start)`);
console.log("| load | first ban row painted (median / max) | first chart painted (median / max) | every panel loaded (median / max) |");
console.log("|---|---|---|---|");
for (const [kind, rs] of Object.entries(results)) {
  const col = (k) => `${median(rs.map((r) => r[k])).toFixed(0)} / ${max(rs.map((r) => r[k])).toFixed(0)}`;
  console.log(`| ${kind} | ${col("firstRow")} | ${col("firstChart")} | ${col("complete")} |`);
}
console.log(`cold load on the wire: ${(median(wire) / 1024).toFixed(1)} kB median, ${(max(wire) / 1024).toFixed(1)} kB max (every request, as the browser received it)`);
