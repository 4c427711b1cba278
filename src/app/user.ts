// The application's own code: firmware authors write theirs here. `setup` runs once per boot, after the boot
// sequence (an installed update chosen, the banner printed) and before the node connects, so RPC methods and
// attribute handlers added here are in place for the first request. The shipped firmware adds nothing.
import { SensorNode } from "./node";

export function setup(node: SensorNode): void {
  void node;
}
