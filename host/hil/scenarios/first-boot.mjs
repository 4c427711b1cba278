// A freshly flashed and configured node boots, names its board, reaches the server and reports on schedule.
import { flash, configure, consoleLine, attributes, telemetry, spacedBy } from "../steps.mjs";

const MINUTE = 60000;

export default {
  name: "first-boot",
  description: "first boot and telemetry: flash, configure, boot banner, client attributes, readings one interval apart",
  timeLimitS: 400,
  steps: [
    flash(),
    configure({ intervalS: 60 }),
    consoleLine(/^node: .+ \([a-z0-9]+\) up, readings \{"temperature":-?\d/, { withinS: 30, name: "console shows the boot banner with a temperature reading" }),
    consoleLine(/^node: espruino-coap-node \d+\.\d+\.\d+ on [a-z0-9]+, server /, { withinS: 60 }),
    consoleLine(/^node: telemetry 1 reading\(s\) -> 2\.01$/, { withinS: 60 }),
    attributes("CLIENT_SCOPE", (ctx) => ({ fw_title: "espruino-coap-node", board: ctx.target.board.id }), { name: "server has the client attributes fw_title and board" }),
    telemetry("temperature", {
      count: 3,
      withinS: 200,
      check: spacedBy(MINUTE),
    }),
  ],
};
