// A shared attribute set on the server reaches the node at once (its observation), changes its behaviour and is
// kept in node.cfg across reboots.
import { flash, configure, consoleLine, setShared, boardValue, telemetry } from "../steps.mjs";

export default {
  name: "shared-attributes",
  description: "shared attribute change: intervalS pushed by the server is applied, persisted and followed",
  pace: "real",
  timeLimitS: 240,
  steps: [
    flash(),
    configure({ intervalS: 300 }),
    consoleLine(/^node: shared attributes \{\}/, { withinS: 60, name: "node subscribed with no shared attributes yet" }),
    setShared({ intervalS: 5 }),
    consoleLine(/^node: shared attribute update \{"intervalS":5\}$/, { withinS: 20 }),
    consoleLine(/^node: reading every 5 s$/, { withinS: 10 }),
    boardValue('require("Storage").readJSON("node.cfg").intervalS', 5),
    telemetry("temperature", {
      count: 3,
      withinS: 40,
      check: Object.assign((points) => {
        const gap = points[points.length - 1].ts - points[points.length - 2].ts;
        return Math.abs(gap - 5000) <= 1500 ? null : `last gap ${gap} ms`;
      }, { label: "the last two 5 s apart" }),
    }),
  ],
};
