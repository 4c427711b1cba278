// Which local address a simulated node's sockets use: loopback for a server on this machine, every interface for a
// server elsewhere (a real ThingsBoard given with --server). No traffic leaves loopback here.
import { test } from "node:test";
import assert from "node:assert/strict";
import { bindAddressFor } from "../../host/sim/node.mjs";
import { startTb, startSensorNode } from "../node-support.mjs";

test("a server on this machine keeps the node on loopback; a server elsewhere binds every interface", () => {
  for (const uri of ["coap://127.0.0.1:5683", "coaps://127.0.0.2", "coap://localhost:5683", "coap://[::1]:5683", undefined]) {
    assert.equal(bindAddressFor(uri), "127.0.0.1", String(uri));
  }
  for (const uri of ["coaps://thingsboard.example.com:5684", "coap://demo.thingsboard.io", "coap://[2001:db8::1]:5683"]) {
    assert.equal(bindAddressFor(uri), "0.0.0.0", uri);
  }
});

test("a node reporting to the local server has its sockets bound to 127.0.0.1", async (t) => {
  const tb = await startTb(t);
  await tb.createDevice("node-bind", "TOKEN_BIND");
  const node = await startSensorNode(t, tb, { config: { token: "TOKEN_BIND" } });
  await node.device.waitForOutput(/^node: telemetry 1 reading\(s\) -> 2\.01$/);
  const sockets = node.device.sockets();
  assert.ok(sockets.length >= 1);
  for (const s of sockets) assert.equal(s.address, "127.0.0.1");
});
