// A real Chromium walks SFA's live pages, driven by the real phoenix_live_view client, and prints what it saw
// as JSON lines. When it needs the server side to do something (a worker killed, a role changed), it prints
// {"event":"need",...} and waits for a line on stdin.
// Usage: node pages.mjs BASE_URL CHROMIUM_PATH WAV_PATH SHOTS_DIR EMAIL PASSWORD
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const [base, executablePath, wavPath, shots, email, password] = process.argv.slice(2);
const say = (event, fields = {}) => console.log(JSON.stringify({ event, ...fields }));
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const need = async (what, fields = {}) => { say("need", { what, ...fields }); return JSON.parse((await lines.next()).value); };
const connected = (page) => page.waitForSelector("[data-phx-main].phx-connected", { timeout: 15000 });

async function shoot(page, name) {
  for (const [label, width] of [["desktop", 1280], ["mobile", 390]]) {
    await page.setViewportSize({ width, height: 900 });
    await page.waitForTimeout(150);
    await page.screenshot({ path: `${shots}/${name}-${label}.png`, fullPage: true });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    say("shot", { name, label, overflow });
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}

const browser = await chromium.launch({
  executablePath, headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required"],
});
const errors = [];
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("response", (r) => { if (r.status() >= 400) errors.push(`${r.status()} ${new URL(r.url()).pathname}`); });

  // Register: a bad email is refused with a visible error next to the form, then a good one logs in.
  await page.goto(`${base}/users/register`);
  await shoot(page, "register");
  await page.fill("#email", email);
  await page.fill("#password", "short");
  await page.click("button[type=submit]");
  say("register_refused", { error: await page.textContent(".error") });
  await page.fill("#email", email);
  await page.fill("#password", password);
  await Promise.all([page.waitForURL(`${base}/`), page.click("button[type=submit]")]);
  await connected(page);
  say("dashboard", { text: await page.textContent("main") });
  await shoot(page, "dashboard-empty");

  // Import by file: the upload's progress bar fills, then live navigation to the new track's page.
  await page.click("a[href='/import']");
  await page.waitForSelector("#upload-form");
  await connected(page);
  await page.fill("#url", "not a url://x");
  await page.waitForSelector("#url[aria-invalid=true]");
  say("url_refused", { error: await page.textContent("#url-error") });
  await shoot(page, "import");
  await page.setInputFiles("#file", wavPath);
  await page.evaluate(() => { window.__sameDocument = true; });
  await page.click("#upload-form button[type=submit]");
  await page.waitForURL(/\/tracks\/\d+$/, { timeout: 20000 });
  await connected(page);
  const trackUrl = page.url();
  say("uploaded", { url: trackUrl, sameDocument: await page.evaluate(() => window.__sameDocument === true),
                    flash: await page.textContent(".flash").catch(() => null) });

  // Analyse: progress changes on the page without a reload, then tempo, key and the chroma plot appear.
  await page.evaluate(() => {
    window.__seen = [];
    new MutationObserver(() => {
      const pct = document.querySelector("#job .pct")?.textContent;
      const status = document.querySelector("#job .status")?.textContent;
      if (pct && window.__seen.at(-1) !== `${status} ${pct}`) window.__seen.push(`${status} ${pct}`);
    }).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
  });
  await page.click("#analyze");
  await page.waitForSelector("#tempo", { timeout: 60000 });
  await page.waitForSelector("#chroma[data-drawn]", { timeout: 10000 });
  say("analysed", {
    seen: await page.evaluate(() => window.__seen), sameDocument: await page.evaluate(() => window.__sameDocument),
    tempo: await page.textContent("#tempo"), key: await page.textContent("#key"),
    chroma: await page.getAttribute("#chroma", "data-drawn"),
  });

  // Stems (the server adds them, as a finished separation would): they play, solo and mute.
  await need("stems", { url: trackUrl });
  await page.waitForSelector("[data-stem] audio", { timeout: 10000 });
  await page.click("[data-action=play]");
  await page.waitForFunction(() => [...document.querySelectorAll("[data-stem] audio")].every((a) => a.currentTime > 0.3),
                             null, { timeout: 15000 });
  await page.click("[data-stem=drums] [data-action=solo]");
  say("stems", {
    times: await page.$$eval("[data-stem] audio", (all) => all.map((a) => a.currentTime)),
    muted: await page.$$eval("[data-stem] audio", (all) => all.map((a) => a.muted)),
  });
  await page.click("[data-action=pause]");
  await shoot(page, "track");

  say("errors", { errors });
} finally {
  await browser.close();
  process.stdin.destroy();
}
