// The steps HIL scenarios are made of. Each is { name, run(ctx) } and either returns what it saw or throws a
// StepFailure saying what was expected and what was seen instead. Times are device seconds: the wall clock on a
// board, the simulated clock on the simulator (where idle minutes pass in moments).
import { isDeepStrictEqual } from "node:util";
import { flashBundle } from "./flash.mjs";
import { buildConfig, writeConfig } from "./configure.mjs";
import { buildUpdate } from "./update-build.mjs";

export class StepFailure extends Error {
  constructor(expected, seen) {
    super(`expected ${expected}; seen ${seen}`);
    this.expected = expected;
    this.seen = seen;
  }
}

function short(v, n = 300) {
  const s = typeof v === "string" ? v : JSON.stringify(v);
  return s === undefined ? "nothing" : s.length > n ? s.slice(0, n) + "..." : s;
}

/**
 * Polls `probe()` (sync or async) until it returns something other than undefined, for `withinS` device seconds.
 * `seen()` describes the state when it gives up.
 */
export function waitFor(ctx, probe, options) {
  return ctx.target.fastForward(() => poll(ctx, probe, options));
}

async function poll(ctx, probe, { withinS, expected, seen }) {
  const deviceEnd = ctx.target.now() + withinS * 1000;
  // A simulated clock may stall (a wedged node); real time is bounded too.
  const allowedMs = ctx.target.kind === "sim" ? ctx.simRealLimitMs : withinS * 1000 + 15000;
  const realEnd = Date.now() + allowedMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (ctx.target.now() > deviceEnd) throw new StepFailure(`${expected} within ${withinS} s`, await seen());
    if (Date.now() > realEnd) throw new StepFailure(`${expected} within ${withinS} s`, `${await seen()} (gave up after ${Math.round(allowedMs / 1000)} real seconds)`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Writes the board's bundle to Storage (.bootcde) through EspruinoTools, erasing Storage first (a clean board). */
export function flash({ erase = true } = {}) {
  return {
    name: "flash the firmware with EspruinoTools",
    async run(ctx) {
      await ctx.target.release();
      try {
        const r = await flashBundle({ port: ctx.target.port, board: ctx.target.board.id, erase, baud: ctx.target.baud, progress: ctx.log });
        return `${r.bytes} bytes in .bootcde, CRC-32 ${r.crc.toString(16)}; the board runs Espruino ${r.info.VERSION}`;
      } finally {
        await ctx.target.attach();
      }
    },
  };
}

/** Registers the scenario's device on the server (a fresh token), writes node.cfg with `fields`, restarts. */
export function configure(fields = {}) {
  return {
    name: `configure the node${Object.keys(fields).length ? " " + JSON.stringify(fields) : ""}`,
    async run(ctx) {
      if (!ctx.device.id) ctx.device.id = await ctx.tb.createDevice(ctx.device.name, ctx.device.token);
      const cfg = { server: ctx.target.serverUri, token: ctx.device.token, interval: fields.intervalS, sleep: fields.sleep };
      if (ctx.target.wifi) {
        cfg.wifi = ctx.target.wifi.ssid;
        cfg.wifiPassword = ctx.target.wifi.password;
      }
      const built = buildConfig(cfg, { env: {} });
      ctx.mark = ctx.target.out.lines.length;
      await ctx.target.withRepl((repl) => writeConfig(repl, built, { progress: ctx.log }));
      return `node.cfg for device ${ctx.device.name} on ${ctx.target.serverUri}`;
    },
  };
}

/**
 * A console line matching `pattern` since the last flash/configure (or since the step started: `fresh`).
 * @param {RegExp} pattern
 * @param {{ withinS?: number, fresh?: boolean, count?: number, name?: string }} [options]
 */
export function consoleLine(pattern, { withinS = 60, fresh = false, count = 1, name = undefined } = {}) {
  return {
    name: name ?? `console prints ${count > 1 ? count + " lines " : ""}${pattern}`,
    async run(ctx) {
      const from = fresh ? ctx.target.out.lines.length : ctx.mark;
      const matches = () => ctx.target.out.lines.slice(from).filter((l) => pattern.test(l));
      return waitFor(ctx, () => (matches().length >= count ? matches()[count - 1] : undefined), {
        withinS,
        expected: `${count > 1 ? count + " console lines" : "a console line"} matching ${pattern}`,
        seen: () => `${matches().length} such line(s); last lines: ${short(ctx.target.out.lines.slice(-8).join(" | "), 800)}`,
      });
    },
  };
}

/** The server stores at least `count` values of `key`; `check(points)` may add a condition (returns a problem). */
/** A telemetry check: consecutive points `ms` apart, within `toleranceMs`. */
export function spacedBy(ms, toleranceMs = 5000) {
  return Object.assign((points) => {
    const gaps = points.slice(1).map((p, i) => p.ts - points[i].ts);
    return gaps.every((g) => Math.abs(g - ms) <= toleranceMs) ? null : `gaps ${gaps.join(", ")} ms`;
  }, { label: `one interval (${ms / 1000} s) apart` });
}

/**
 * @param {string} key
 * @param {{ count?: number, withinS?: number, check?: ((points: any[]) => string | null) & { label?: string } }} [options]
 */
export function telemetry(key, { count = 1, withinS = 120, check = undefined } = {}) {
  return {
    name: `server stores ${count} ${key} value(s)${check ? " " + (check.label || "as expected") : ""}`,
    async run(ctx) {
      let last = [];
      let problem = null;
      const points = await waitFor(ctx, async () => {
        last = await ctx.tb.history(ctx.device.id, key);
        if (last.length < count) return undefined;
        problem = check ? check(last) : null;
        return problem ? undefined : last;
      }, {
        withinS,
        expected: `${count} ${key} value(s)${check ? ` ${check.label || ""}` : ""}`,
        seen: () => `${last.length} value(s)${problem ? ` (${problem})` : ""}: ${short(last.slice(-6))}`,
      });
      return `${points.length} values, last ${short(points[points.length - 1])}`;
    },
  };
}

/** Attributes of `scope` (CLIENT_SCOPE, SHARED_SCOPE) include `expected` (an object, or ctx => object). */
export function attributes(scope, expectedOf, { withinS = 60, name = undefined } = {}) {
  return {
    name: name ?? `server has ${scope} attributes ${typeof expectedOf === "function" ? "as expected" : JSON.stringify(expectedOf)}`,
    async run(ctx) {
      const expected = typeof expectedOf === "function" ? expectedOf(ctx) : expectedOf;
      let last = {};
      await waitFor(ctx, async () => {
        last = await ctx.tb.attributes(ctx.device.id, scope);
        return Object.entries(expected).every(([k, v]) => isDeepStrictEqual(last[k], v)) ? true : undefined;
      }, { withinS, expected: JSON.stringify(expected), seen: () => short(last) });
      return short(last);
    },
  };
}

/** The latest fw_state values the node reported reach `states` in order. */
export function fwStates(states, { withinS = 300 } = {}) {
  return {
    name: `node reports fw_state ${states.join(" -> ")}`,
    async run(ctx) {
      let seen = [];
      await waitFor(ctx, async () => {
        seen = (await ctx.tb.history(ctx.device.id, "fw_state")).map((p) => p.value);
        let i = 0;
        for (const s of seen) if (s === states[i]) i++;
        return i === states.length ? true : undefined;
      }, { withinS, expected: `fw_state ${states.join(", ")} in order`, seen: () => `fw_state ${seen.join(", ") || "never reported"}` });
      return seen.join(", ");
    },
  };
}

/** A server-side two-way RPC; `expect(result)` returns a problem or null, or `expect` is the exact reply. */
export function rpc(method, params, expect, { timeoutS = 20 } = {}) {
  return {
    name: `RPC ${method}(${JSON.stringify(params)}) is answered`,
    async run(ctx) {
      let result;
      try {
        result = await ctx.tb.rpc(ctx.device.id, method, params, timeoutS * 1000);
      } catch (e) {
        throw new StepFailure(`a reply within ${timeoutS} s`, e.message);
      }
      const problem = typeof expect === "function" ? expect(result, ctx) : isDeepStrictEqual(result, expect) ? null : `not ${JSON.stringify(expect)}`;
      if (problem) throw new StepFailure(typeof expect === "function" ? expect.label || "a valid reply" : JSON.stringify(expect), `${short(result)} (${problem})`);
      return short(result);
    },
  };
}

export function setShared(values) {
  return {
    name: `server sets shared attributes ${JSON.stringify(values)}`,
    async run(ctx) {
      await ctx.tb.setShared(ctx.device.id, values);
      return "sent";
    },
  };
}

/** Builds this board's bundle as version `version` and assigns it to the device as a firmware package. */
export function assignFirmware(version) {
  return {
    name: `server assigns firmware ${version}`,
    async run(ctx) {
      const { title, bytes } = await buildUpdate(ctx.target.board.id, version);
      await ctx.tb.assignFirmware(ctx.device.id, { title, version, bytes });
      return `${title} ${version}, ${bytes.length} bytes`;
    },
  };
}

/** Network conditions on the simulated link (the scenario is skipped on real boards). */
export function outage(seconds) {
  return {
    name: `network outage for ${seconds} s`,
    simOnly: true,
    async run(ctx) {
      ctx.target.setNetwork({ outageS: seconds });
      return "link down";
    },
  };
}

/** Evaluates `expr` on the board's console; `expect` is the exact JSON value. */
export function boardValue(expr, expect) {
  return {
    name: `board answers ${expr} = ${JSON.stringify(expect)}`,
    async run(ctx) {
      const v = await ctx.target.withRepl((r) => r.eval(expr));
      if (!isDeepStrictEqual(v, expect)) throw new StepFailure(JSON.stringify(expect), short(v));
      return short(v);
    },
  };
}
