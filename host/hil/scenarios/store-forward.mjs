// The server cannot be reached for six minutes: readings go on, wait in flash, and reach the server afterwards, in
// order and each once. Needs network conditions, so it runs on the simulator only.
import { flash, configure, consoleLine, telemetry, outage } from "../steps.mjs";

const MINUTE = 60000;

export default {
  name: "store-forward",
  description: "server outage with store and forward: 6 minutes without network, nothing lost",
  simOnly: true,
  timeLimitS: 1200,
  steps: [
    flash(),
    configure({ intervalS: 60 }),
    telemetry("temperature", { count: 2, withinS: 150 }),
    outage(360),
    consoleLine(/; readings kept$/, { withinS: 150, fresh: true, name: "node reports the failed send and keeps its readings" }),
    consoleLine(/^node: reading .*, [3-9] queued$/, { withinS: 360, fresh: true }),
    consoleLine(/^node: telemetry ([3-9]|[1-9]\d) reading\(s\) -> 2\.01$/, { withinS: 400, fresh: true, name: "the backlog is sent after the outage" }),
    telemetry("temperature", {
      count: 9,
      withinS: 120,
      check: Object.assign((points) => {
        const ts = points.map((p) => p.ts);
        if (new Set(ts).size !== ts.length) return "a reading stored twice";
        const gaps = ts.slice(1).map((t, i) => t - ts[i]);
        const bad = gaps.find((g) => g > 1.5 * MINUTE);
        return bad === undefined ? null : `a gap of ${bad} ms: readings lost`;
      }, { label: "no reading lost or stored twice (gaps under 90 s)" }),
    }),
  ],
};
