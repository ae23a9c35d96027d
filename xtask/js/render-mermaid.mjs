// Renders Mermaid diagrams to SVG with the pinned `mermaid` package in Debian's Chromium,
// headless, driven by the pinned `puppeteer-core` (its own browser download is never used).
//
// stdin: a JSON array of Mermaid sources. stdout: a JSON array of SVG strings, in order.
// Exit status 1, with each failing diagram's index and Mermaid's message on stderr, when any
// diagram does not parse or render.

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import puppeteer from "puppeteer-core";

const require = createRequire(import.meta.url);
const mermaidBundle = require.resolve("mermaid/dist/mermaid.min.js");
const sources = JSON.parse(readFileSync(0, "utf8"));
const executablePath = process.env.MOHA_CHROMIUM || "/usr/bin/chromium";
// A fresh profile per run, so no state leaks between runs and nothing is written to $HOME.
const userDataDir = mkdtempSync(join(tmpdir(), "moha-chromium-"));

let browser;
let failed = false;
try {
  browser = await puppeteer.launch({
    executablePath,
    userDataDir,
    // `--headless` is passed below as it is, rather than puppeteer's variant of it.
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
  await page.setContent("<!doctype html><html><head><meta charset=utf-8></head><body></body></html>");
  await page.addScriptTag({ path: mermaidBundle });
  const results = await page.evaluate(async (sources) => {
    const m = globalThis.mermaid;
    // A fixed seed and ids, so the same source renders to the same SVG.
    m.initialize({
      startOnLoad: false,
      securityLevel: "strict",
      theme: "neutral",
      deterministicIds: true,
      handDrawnSeed: 1,
    });
    const out = [];
    for (const [i, source] of sources.entries()) {
      try {
        const { svg } = await m.render(`diagram-${i}`, source);
        out.push({ svg });
      } catch (e) {
        out.push({ error: String(e?.message ?? e) });
      }
    }
    return out;
  }, sources);
  const svgs = [];
  for (const [i, r] of results.entries()) {
    if (r.error !== undefined) {
      failed = true;
      process.stderr.write(`diagram ${i} does not render: ${r.error}\n`);
    } else {
      svgs.push(r.svg);
    }
  }
  if (!failed) process.stdout.write(JSON.stringify(svgs));
} finally {
  await browser?.close();
  rmSync(userDataDir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
