// Runs HIL scenarios one after the other against a target: each gets its own device on the local server (a fresh
// token), its steps run in order until one fails, and the scenario as a whole has a time limit in device seconds.
// What each step saw, and the node's console (secrets removed), go into the report.
import crypto from "node:crypto";
import { redact } from "./configure.mjs";
import { StepFailure } from "./steps.mjs";

/** Real time a simulated scenario may take at most, whatever its device-time limit. */
export const SIM_REAL_LIMIT_MS = 180000;

/** Runs step `i` of scenario `sc` and records it in `result` (a failure also as the scenario's); returns its record. */
async function runStep(sc, i, ctx, result, { deviceStart, deadline }) {
  const { target } = ctx;
  const step = sc.steps[i];
  const s = { name: step.name, status: "passed", detail: "", realMs: 0, deviceS: 0 };
  result.steps.push(s);
  const t0 = Date.now();
  const d0 = target.now();
  try {
    s.detail = redact(String((await step.run(ctx)) ?? ""), ctx.secrets);
    if (target.now() > deadline) throw new Error(`the scenario's time limit of ${sc.timeLimitS} s passed (at ${Math.round((target.now() - deviceStart) / 1000)} s)`);
  } catch (e) {
    s.status = "failed";
    s.detail = redact(e.message, ctx.secrets);
    result.status = "failed";
    result.failure = {
      step: i + 1,
      stepName: step.name,
      type: e instanceof StepFailure ? "StepFailure" : "Error",
      message: redact(`step ${i + 1} "${step.name}" failed: ${e.message}`, ctx.secrets),
    };
    if (e instanceof StepFailure) {
      result.failure.expected = redact(e.expected, ctx.secrets);
      result.failure.seen = redact(e.seen, ctx.secrets);
    }
  } finally {
    s.realMs = Date.now() - t0;
    s.deviceS = Math.round(target.now() - d0) / 1000;
  }
  return s;
}

/**
 * @param {object} o
 * @param {object[]} o.scenarios loaded scenario modules ({ name, description, pace?, simOnly?, timeLimitS, steps })
 * @param {(scenario) => Promise<object>} o.targetFor the target a scenario runs on (begun; ended by the runner)
 * @param {object} o.tb the local server (host/hil/server.mjs)
 * @param {(text: string) => void} [o.log]
 * @param {number} [o.simRealLimitMs] real time a simulated scenario may take at most
 */
export async function runScenarios({ scenarios, targetFor, tb, log = (_text) => {}, simRealLimitMs = SIM_REAL_LIMIT_MS }) {
  const results = [];
  let setupFailed = null; // the first scenario whose set-up failed: the same target would fail the rest the same way
  for (const sc of scenarios) {
    const started = Date.now();
    const result = { name: sc.name, description: sc.description, status: "passed", steps: [], realMs: 0, deviceS: 0, console: [] };
    results.push(result);
    if (setupFailed) {
      result.status = "skipped";
      result.skipped = `not run: the set-up failed in ${setupFailed}`;
      continue;
    }
    const target = await targetFor(sc);
    // A scenario with a network-conditions step needs the simulator, whether or not it says so itself.
    if ((sc.simOnly || sc.steps.some((st) => st.simOnly)) && !target.networkConditions) {
      result.status = "skipped";
      result.skipped = `needs network conditions, which only the simulator (--sim) has; ${target.describe()} is not simulated`;
      log(`${sc.name}: skipped (${result.skipped})`);
      continue;
    }
    const firstLine = target.out.lines.length;
    const token = crypto.randomBytes(15).toString("base64url");
    const ctx = {
      target,
      tb,
      device: { name: `hil-${sc.name}-${crypto.randomBytes(3).toString("hex")}`, token, id: null },
      mark: firstLine,
      simRealLimitMs,
      secrets: [token, target.wifi && target.wifi.password].filter(Boolean),
      log: (t) => log(`${sc.name}:   ${redact(t, ctx.secrets)}`),
    };
    log(`${sc.name}: ${sc.description} (on ${target.describe()})`);
    let deviceStart = 0;
    try {
      await target.begin();
      deviceStart = target.now();
      const deadline = deviceStart + sc.timeLimitS * 1000;
      for (let i = 0; i < sc.steps.length; i++) {
        const s = await runStep(sc, i, ctx, result, { deviceStart, deadline });
        log(`${sc.name}: ${s.status === "passed" ? "ok  " : "FAIL"} ${i + 1}. ${s.name}${s.detail ? ` - ${s.detail}` : ""}`);
        if (s.status === "failed") break;
      }
      for (let i = result.steps.length; i < sc.steps.length; i++) result.steps.push({ name: sc.steps[i].name, status: "not run", detail: "", realMs: 0, deviceS: 0 });
    } catch (e) {
      result.status = "failed";
      result.failure = { step: 0, stepName: "set-up", type: "Error", message: redact(`set-up failed: ${e.message}`, ctx.secrets) };
      setupFailed = sc.name;
    } finally {
      result.deviceS = Math.round(target.now() - deviceStart) / 1000;
      result.console = target.out.lines.slice(firstLine).slice(-200).map((l) => redact(l, ctx.secrets));
      await target.end().catch((e) => log(`${sc.name}: ending the target: ${e.message}`));
      result.realMs = Date.now() - started;
    }
    log(`${sc.name}: ${result.status}${result.failure ? ` - ${result.failure.message}` : ""}`);
    const left = scenarios.length - results.length;
    if (setupFailed && left) log(`stopping: the set-up failed, so the remaining ${left} scenario(s) are not run`);
  }
  return results;
}
