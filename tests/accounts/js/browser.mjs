// A real Chromium (headless) walks the account pages of a live server and prints what it saw as JSON lines.
// Usage: node browser.mjs BASE_URL CHROMIUM_PATH
import { say, withPage } from "./chromium.mjs";

const [base, executablePath] = process.argv.slice(2);

await withPage(executablePath, async (page) => {
  await page.goto(`${base}/users/register`);
  await page.fill("#email", "browser.user@example.com");
  await page.fill("#password", "a long browser password");
  await Promise.all([page.waitForURL(`${base}/`), page.click("button[type=submit]")]);
  say("registered", {
    nav: await page.textContent("nav"),
    socketToken: await page.getAttribute('meta[name="socket-token"]', "content"),
  });

  await page.goto(`${base}/users/settings`);
  await page.fill("#key-name", "from the browser");
  await Promise.all([page.waitForURL(`${base}/users/settings`), page.click("text=Create API key")]);
  say("api_key", { key: await page.textContent("#new-api-key") });
  await page.reload();
  say("reloaded", { keyShownAgain: (await page.$("#new-api-key")) !== null });

  await Promise.all([page.waitForURL(`${base}/`), page.click("text=Log out")]);
  say("logged_out", { nav: await page.textContent("nav") });

  await page.goto(`${base}/users/log_in`);
  await page.fill("#email", "browser.user@example.com");
  await page.fill("#password", "wrong password here");
  await page.click("button[type=submit]");
  await page.waitForSelector(".error");
  say("refused", { error: await page.textContent(".error") });

  await page.fill("#password", "a long browser password");
  await Promise.all([page.waitForURL(`${base}/`), page.click("button[type=submit]")]);
  say("logged_in", { nav: await page.textContent("nav") });
});
