// Opens the page `cargo xtask inspect --html` wrote in Debian's Chromium, headless, driven by the
// pinned `puppeteer-core` (as render-mermaid.mjs does), and reports what rendered.
//
// argv[2]: the page's path. stdout: JSON {errors, requests, charts: [{id, width, height, bars,
// expected, legend}], tables}. A bar counts when its box on screen has a size.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import puppeteer from "puppeteer-core";

const file = process.argv[2];
const executablePath = process.env.MOHA_CHROMIUM || "/usr/bin/chromium";
const userDataDir = mkdtempSync(join(tmpdir(), "moha-chromium-"));
const url = pathToFileURL(file).href;

let browser;
try {
  browser = await puppeteer.launch({
    executablePath,
    userDataDir,
    headless: false,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
    timeout: 60_000,
    protocolTimeout: 120_000,
  });
  const page = await browser.newPage();
  const errors = [];
  const requests = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(String(e?.message ?? e)));
  page.on("request", (r) => {
    if (r.url() !== url) requests.push(r.url());
  });
  await page.setViewport({ width: 1280, height: 900 });
  await page.goto(url, { waitUntil: "load", timeout: 60_000 });
  const seen = await page.evaluate(() => {
    const charts = [...document.querySelectorAll("figure.chart")].map((f) => {
      const svg = f.querySelector("svg");
      const box = svg ? svg.getBoundingClientRect() : { width: 0, height: 0 };
      const bars = [...f.querySelectorAll("svg rect.bar")].filter((r) => {
        const b = r.getBoundingClientRect();
        return b.width > 0 && b.height > 0;
      }).length;
      return {
        id: f.id.replace(/^chart-/, ""),
        width: box.width,
        height: box.height,
        bars,
        expected: Number(f.dataset.segments ?? -1),
        legend: [...f.querySelectorAll(".legend li")].map((li) => li.textContent),
      };
    });
    return { charts, tables: document.querySelectorAll("section.report table").length };
  });
  process.stdout.write(JSON.stringify({ errors, requests, ...seen }));
} finally {
  await browser?.close();
  rmSync(userDataDir, { recursive: true, force: true });
}
