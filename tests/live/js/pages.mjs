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
    // Every visible form control has a label (a <label for>, or aria-label for the few that stand alone).
    const unlabelled = await page.$$eval("input:not([type=hidden]), select, textarea", (controls) => controls
      .filter((c) => !c.getAttribute("aria-label") && !(c.id && document.querySelector(`label[for="${c.id}"]`)))
      .map((c) => c.outerHTML));
    say("shot", { name, label, overflow, unlabelled });
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
  // By keyboard alone: the fields in order, Enter submits.
  await page.focus("#email");
  await page.keyboard.type(email);
  await page.keyboard.press("Tab");
  await page.keyboard.type("short");
  await page.keyboard.press("Enter");
  await page.waitForSelector(".error");
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
  await page.evaluate(() => {
    window.__upload = [];
    new MutationObserver(() => window.__upload.push(document.querySelector("[data-upload-status]")?.textContent))
      .observe(document.querySelector("[data-upload-status]"), { childList: true, characterData: true, subtree: true });
    window.addEventListener("phx:page-loading-stop", () => window.__upload.push("navigated"));
  });
  await page.setInputFiles("#file", wavPath);
  await page.evaluate(() => { window.__sameDocument = true; });
  await page.click("#upload-form button[type=submit]");
  await page.waitForURL(/\/tracks\/\d+$/, { timeout: 20000 });
  await connected(page);
  const trackUrl = page.url();
  say("uploaded", { url: trackUrl, sameDocument: await page.evaluate(() => window.__sameDocument === true),
                    upload: await page.evaluate(() => window.__upload),
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
  await page.waitForSelector("#energy-plot[data-drawn] canvas", { timeout: 10000 });
  say("analysed", {
    seen: await page.evaluate(() => window.__seen), sameDocument: await page.evaluate(() => window.__sameDocument),
    tempo: await page.textContent("#tempo"), key: await page.textContent("#key"),
    chroma: await page.getAttribute("#chroma", "data-drawn"),
    energyPoints: Number(await page.getAttribute("#energy-plot", "data-drawn")),
    mfcc: await page.getAttribute("#mfcc", "data-drawn"),
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

  // Another user's track is a 404 page.
  const other = await need("other_track");
  const notFound = await page.goto(`${base}/tracks/${other.track_id}`);
  say("other_track", { status: notFound.status(), text: await page.textContent("main") });
  await shoot(page, "not-found");

  // Chat: the reply streams in, then the stored conversation shows.
  await page.goto(`${base}/chat`);
  await connected(page);
  await page.evaluate(() => {
    window.__pushed = [];
    window.addEventListener("phx:chat:done", (e) => window.__pushed.push(e.detail));
    window.__streamed = false;
    new MutationObserver(() => { if (document.querySelector("#streaming")) window.__streamed = true; })
      .observe(document.body, { subtree: true, childList: true });
  });
  await page.fill("#message", "list my tracks");
  await page.click("#chat-form button[type=submit]");
  await page.waitForSelector(".message.assistant:not(#streaming)", { timeout: 20000 });
  say("chat", { reply: await page.textContent(".message.assistant:not(#streaming)"), url: page.url(),
                streamed: await page.evaluate(() => window.__streamed),
                pushed: await page.evaluate(() => window.__pushed),
                focused: await page.evaluate(() => document.activeElement?.id) });
  await shoot(page, "chat");

  // A JobWorker killed mid-job: the dashboard shows the failed attempt and the retry, without a reload.
  const long = await need("long_track");
  await page.goto(`${base}/`);
  await connected(page);
  await page.evaluate((id) => {
    window.__rows = [];
    new MutationObserver(() => {
      const row = document.querySelector(`#track-${id} .job[data-job]`);
      const text = row && [...row.querySelectorAll(".status, .attempt, .message")].map((e) => e.textContent).join(" | ");
      if (text && window.__rows.at(-1) !== text) window.__rows.push(text);
    }).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
  }, long.track_id);
  await page.click(`#track-${long.track_id} button[phx-click=analyze]`);
  await need("kill", { track_id: long.track_id });
  await page.waitForFunction((id) => /attempt 2 of/.test(document.querySelector(`#track-${id} .attempt`)?.textContent),
                             long.track_id, { timeout: 30000 });
  say("retry", { rows: await page.evaluate(() => window.__rows) });
  await shoot(page, "dashboard");

  // An admin makes this user pro: the user's open page shows the new role and allows separation.
  const admin = await need("admin");
  await page.goto(trackUrl);
  await connected(page);
  say("before_promotion", { who: await page.textContent("#who"),
                            canSeparate: await page.isEnabled("#separate-form button[type=submit]") });
  const adminPage = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  adminPage.on("pageerror", (e) => errors.push(String(e)));
  await adminPage.goto(`${base}/users/log_in`);
  await shoot(adminPage, "log-in");
  await adminPage.fill("#email", admin.email);
  await adminPage.fill("#password", admin.password);
  await Promise.all([adminPage.waitForURL(`${base}/`), adminPage.click("button[type=submit]")]);
  await adminPage.goto(`${base}/admin`);
  await connected(adminPage);
  const row = adminPage.locator("tr", { hasText: email });
  await row.locator("select[name='user[role]']").selectOption("pro");
  await page.waitForFunction(() => document.querySelector("#who").textContent.includes("(pro)"), null, { timeout: 10000 });
  say("promoted", { who: await page.textContent("#who"),
                    canSeparate: await page.isEnabled("#separate-form button[type=submit]"),
                    flash: await adminPage.textContent(".flash") });
  await shoot(adminPage, "admin-users");
  await adminPage.goto(`${base}/admin/jobs`);
  await connected(adminPage);
  say("admin_jobs", { text: await adminPage.textContent("main") });
  await shoot(adminPage, "admin-jobs");
  await adminPage.goto(`${base}/admin/tree`);
  await connected(adminPage);
  say("admin_tree", { text: await adminPage.textContent("#tree") });
  await shoot(adminPage, "admin-tree");
  await page.goto(`${base}/admin`);
  say("not_admin", { text: await page.textContent("main") });
  await page.goto(`${base}/users/settings`);
  await shoot(page, "settings");

  say("errors", { errors });
} finally {
  await browser.close();
  process.stdin.destroy();
}
