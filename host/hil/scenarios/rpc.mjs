// Server-side RPCs reach the node over its observation and are answered: built-in methods, an unknown method and
// bad parameters.
import { flash, configure, consoleLine, rpc } from "../steps.mjs";

export default {
  name: "rpc",
  description: "RPC round trip: getStatus, setLed, getReading, bad parameters and an unknown method",
  // The server pushes while the node idles: a simulated node keeps real pace.
  pace: "real",
  timeLimitS: 240,
  steps: [
    flash(),
    configure({ intervalS: 300 }),
    consoleLine(/^node: shared attributes /, { withinS: 60, name: "node subscribed (initial shared attributes printed)" }),
    rpc("getStatus", {}, Object.assign((r, ctx) => (r && r.board === ctx.target.board.id && /^\d+\.\d+\.\d+$/.test(r.fw_version) && r.intervalS === 300 ? null : "wrong status"),
      { label: "the node's status: board, fw_version, intervalS 300" })),
    consoleLine(/^node: RPC getStatus \(id \d+\)$/, { withinS: 10 }),
    rpc("setLed", { on: true }, { led: true }),
    rpc("getReading", {}, Object.assign((r) => (r && typeof r.temperature === "number" ? null : "no temperature"), { label: "a reading with a temperature" })),
    rpc("setInterval", { intervalS: 2 }, { error: "intervalS must be a number of seconds from 5 to 86400" }),
    rpc("noSuchMethod", {}, { error: "unknown method noSuchMethod" }),
  ],
};
