// Firmware over the air: the server assigns a build of the same sources as version 9.9.9; the node downloads it in
// chunks, verifies the checksum, reboots into it and confirms it.
import { flash, configure, consoleLine, assignFirmware, fwStates, attributes } from "../steps.mjs";

export default {
  name: "ota",
  description: "OTA update: assign firmware 9.9.9, fw_state DOWNLOADING..UPDATED, the node runs and reports 9.9.9",
  timeLimitS: 900,
  steps: [
    flash(),
    configure({ intervalS: 60 }),
    consoleLine(/^node: shared attributes /, { withinS: 60, name: "node subscribed to shared attributes" }),
    assignFirmware("9.9.9"),
    consoleLine(/^node: firmware espruino-coap-node 9\.9\.9 \(\d+ bytes\) announced; downloading$/, { withinS: 120 }),
    fwStates(["DOWNLOADING", "DOWNLOADED", "VERIFIED", "UPDATING", "UPDATED"], { withinS: 600 }),
    consoleLine(/^node: espruino-coap-node 9\.9\.9 on [a-z0-9]+, server /, { withinS: 60 }),
    attributes("CLIENT_SCOPE", { fw_version: "9.9.9" }, { withinS: 120 }),
  ],
};
