// The dashboard end to end: `npm run sim`'s simulated node reporting to its local server, and the page in a real
// browser (Debian's Chromium) doing what a user does. Each step leaves a screenshot in test-output/dashboard/.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { ROOT } from "../sim-support.mjs";
import { buildFirmwareVersion } from "../node-support.mjs";
import { openBrowser, openPage, screenshot, textMatching } from "../browser-support.mjs";
import { mask } from "../../host/server/log.mjs";

/** `node host/sim/cli.mjs` (what npm run sim runs) with `args`; stopped after the test. */
function startSim(t, args) {
  const child = spawn(process.execPath, ["host/sim/cli.mjs", ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  const sim = { lines: [], stderr: "" };
  let partial = "";
  sim.firstLine = new Promise((resolve, reject) => {
    child.stdout.on("data", (d) => {
      partial += d;
      const parts = partial.split("\n");
      partial = parts.pop();
      sim.lines.push(...parts);
      if (sim.lines.length) resolve(sim.lines[0]);
    });
    child.once("exit", (code) => reject(new Error(`the simulator exited (${code}) before printing: ${sim.stderr}`)));
  });
  child.stderr.on("data", (d) => (sim.stderr += d));
  t.after(() => new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once("exit", resolve);
    child.kill("SIGTERM");
  }));
  return sim;
}

test("the dashboard shows a simulated node live and drives it: attributes, RPC, firmware update", { timeout: 180_000 }, async (t) => {
  const token = `dash-${randomBytes(8).toString("hex")}`;
  const firmware = await buildFirmwareVersion("2.0.0-dashboard");
  const sim = startSim(t, ["--http-port", "0", "--token", token]);
  const first = await sim.firstLine;
  const m = /^sim: dashboard (http:\/\/127\.0\.0\.1:\d+)\/ \(local server host\/server on coap:\/\/127\.0\.0\.1:\d+\)$/.exec(first);
  assert.ok(m, `the simulator's first line names the dashboard: ${first}`);
  const browser = await openBrowser(t);
  const page = await openPage(t, browser, `${m[1]}/`);

  await t.test("the device appears, online", async () => {
    await textMatching(page.locator("#devices li"), /node1\s+online · seen \d+ s ago/);
    await textMatching(page.locator("#device-name"), /^node1$/);
    await textMatching(page.locator("#device-state"), /^online$/);
    await screenshot(page, "1-device");
  });

  await t.test("the charts gain points as readings arrive, without a reload", async () => {
    const points = page.locator('.chart[data-key="temperature"] .points');
    const before = Number((await textMatching(points, /^\d+ points?$/)).split(" ")[0]);
    await textMatching(points, (text) => parseInt(text, 10) >= before + 3);
    assert.equal(await page.locator('.chart[data-key="battery"]').count(), 1);
    assert.equal(await page.locator(".chart canvas").count(), 2, "one uPlot canvas per numeric key");
    await textMatching(page.locator("#latest tr[data-key=temperature] .value"), /^\d+(\.\d+)?$/);
    await textMatching(page.locator("#pace"), /^A reading every 60 s/);
    await page.getByRole("button", { name: "5 min" }).click();
    assert.equal(await page.getByRole("button", { name: "5 min" }).getAttribute("aria-pressed"), "true");
    await screenshot(page, "2-charts");
  });

  await t.test("the token stays hidden until revealed, and the CoAP log masks it", async () => {
    await textMatching(page.locator("#exchanges tbody"), /CON\s+POST\s+\/api\/v1\/\S+\/telemetry\s+2\.01/);
    assert.ok((await page.locator("#exchanges tbody").innerText()).includes(`/api/v1/${mask(token)}/telemetry`));
    assert.ok(!(await page.content()).includes(token), "the token is nowhere in the page");
    await page.getByRole("button", { name: "Reveal" }).click();
    await textMatching(page.locator("#token"), new RegExp(`^${token}$`));
    await page.getByRole("button", { name: "Hide" }).click();
    await textMatching(page.locator("#token"), /^hidden$/);
    assert.ok(!(await page.content()).includes(token));
  });

  await t.test("a shared intervalS reaches the node and its pace changes", async () => {
    await page.getByLabel("Shared attribute key").fill("intervalS");
    await page.getByLabel("Shared attribute value").fill("5");
    await page.getByRole("button", { name: "Save", exact: true }).first().click();
    await textMatching(page.locator('#attr-SHARED_SCOPE tr[data-key="intervalS"]'), /intervalS/);
    assert.equal(await page.getByLabel("intervalS value").inputValue(), "5");
    await textMatching(page.locator("#pace"), /^A reading every 5 s/, 30000);
    await screenshot(page, "3-interval");
  });

  await t.test("getStatus is sent and its answer shown", async () => {
    await page.getByLabel("RPC method").fill("getStatus");
    await page.getByRole("button", { name: "Send" }).click();
    await textMatching(page.locator("#rpc-status"), /^getStatus: answered$/);
    const answer = JSON.parse(await page.locator("#rpc-result").innerText());
    assert.equal(answer.intervalS, 5, "the node's answer carries the interval set from the page");
    assert.equal(answer.board, "sim");
    await page.getByLabel("RPC method").fill("noSuchMethod");
    await page.getByLabel("RPC timeout in seconds").fill("5");
    await page.getByRole("button", { name: "Send" }).click();
    await textMatching(page.locator("#rpc-status"), /^noSuchMethod: answered$/);
    assert.deepEqual(JSON.parse(await page.locator("#rpc-result").innerText()), { error: "unknown method noSuchMethod" });
    await screenshot(page, "4-rpc");
  });

  await t.test("a firmware uploaded in the page is downloaded and installed: fw_state reaches UPDATED", async () => {
    await page.getByLabel("Firmware file").setInputFiles({ name: "firmware.js", mimeType: "text/javascript", buffer: Buffer.from(firmware, "latin1") });
    await page.getByLabel("Firmware title").fill("espruino-coap-node");
    await page.getByLabel("Firmware version").fill("2.0.0-dashboard");
    await page.getByRole("button", { name: "Upload and assign" }).click();
    await textMatching(page.locator("#fw-history"), /uploaded espruino-coap-node 2\.0\.0-dashboard \([\d.]+ kB, SHA-256 [0-9a-f]{12}…\) and assigned/);
    await textMatching(page.locator("#fw-state"), /^UPDATED$/, 90000);
    const history = await page.locator("#fw-history").innerText();
    const order = ["QUEUED", "INITIATED", "DOWNLOADING", "DOWNLOADED", "VERIFIED", "UPDATING", "UPDATED"].map((s) => history.indexOf(` ${s}`));
    assert.ok(order.every((i, k) => i >= 0 && (k === 0 || i > order[k - 1])), `fw_state went through every state in order:\n${history}`);
    assert.equal(await page.locator("#fw-progress").evaluate((e) => e.value), 1);
    await textMatching(page.locator("#fw-progress-text"), new RegExp(`^${(firmware.length / 1024).toFixed(1)} kB of ${(firmware.length / 1024).toFixed(1)} kB$`));
    await textMatching(page.locator("#fw-current"), /^espruino-coap-node 2\.0\.0-dashboard$/, 30000);
    await screenshot(page, "5-firmware");
  });

  assert.deepEqual(page.problems, [], "no script errors or failed requests in the page");
  assert.ok(!sim.stderr.includes(token) && !sim.lines.join("\n").includes(token), "the token never appears in the simulator's output");
});
