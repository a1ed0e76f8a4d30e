// What every browser test script shares: a headless Chromium that touches nothing outside the test, one page
// handed to the script's steps, and JSON lines on stdout for the Python side to read.
import { chromium } from "playwright-core";

export const say = (event, fields = {}) => console.log(JSON.stringify({ event, ...fields }));

export async function withPage(executablePath, steps) {
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync"],
  });
  try {
    await steps(await browser.newPage());
  } finally {
    await browser.close();
  }
}
