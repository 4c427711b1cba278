// Deep sleep between readings: each wake boots the firmware again, sends its reading and sleeps for the rest of the
// interval, so readings stay one interval apart.
import { flash, configure, consoleLine, telemetry, spacedBy } from "../steps.mjs";

const MINUTE = 60000;

export default {
  name: "deep-sleep",
  description: "deep sleep cycle: boot, reading, sleep, three wakes one interval apart",
  timeLimitS: 400,
  steps: [
    flash(),
    configure({ intervalS: 60, sleep: true }),
    consoleLine(/^node: sleeping \d+ s$/, { withinS: 60 }),
    consoleLine(/^node: .+ \([a-z0-9]+\) up, readings /, { count: 3, withinS: 200, name: "the node boots again on each wake (3 boot banners)" }),
    telemetry("temperature", {
      count: 3,
      withinS: 200,
      check: spacedBy(MINUTE),
    }),
  ],
};
