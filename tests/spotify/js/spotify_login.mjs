// A real Chromium (headless) signs in with Spotify (the local fake's consent page), imports an album from the
// page with its CSRF token, and creates an API key; it prints what it saw as JSON lines.
// Usage: node spotify_login.mjs BASE_URL CHROMIUM_PATH ALBUM_URL
import { say, withPage } from "../../accounts/js/chromium.mjs";

const [base, executablePath, albumUrl] = process.argv.slice(2);

await withPage(executablePath, async (page) => {
  await page.goto(`${base}/auth/spotify`);
  say("consent", { text: await page.textContent("body") });
  await Promise.all([page.waitForURL(`${base}/`), page.click("#agree")]);
  say("signed_in", {
    nav: await page.textContent("nav"),
    socketToken: await page.getAttribute('meta[name="socket-token"]', "content"),
  });

  const imported = await page.evaluate(async (url) => {
    const csrf = document.querySelector('meta[name="csrf-token"]').content;
    const response = await fetch("/api/spotify/import", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ url, quality: "lossless" }),
    });
    return { status: response.status, body: await response.json() };
  }, albumUrl);
  say("imported", imported);

  await page.goto(`${base}/users/settings`);
  say("settings", { spotify: await page.textContent("#spotify-link") });
  await page.fill("#key-name", "end to end");
  await Promise.all([page.waitForURL(`${base}/users/settings`), page.click("text=Create API key")]);
  say("api_key", { key: await page.textContent("#new-api-key") });
});
