// CoAP over DTLS 1.2 through the DTLS server role of host/dtls (mbedTLS as WebAssembly), set up the way
// ThingsBoard runs Scandium: server certificate, client certificate requested but optional and not checked against
// any CA (a registered certificate identifies the device, any other still completes the handshake), RFC 9146
// Connection IDs of 8 bytes, session resumption, the recommended AEAD suites only.
//
// Peers are per address, as in Californium: when a CID moves a session to a new address, requests from there get
// a new peer whose replies work, while notifications for observations registered from the old address are dropped
// ("connection missing"), and token-less X.509 requests from the new address get 4.01 (ThingsBoard keys its
// certificate map by address and certificate).

import { X509Certificate } from "node:crypto";
import { createDtlsServer } from "../dtls/server.mjs";

const RECOMMENDED_SUITES = [
  "TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256", "TLS-ECDHE-ECDSA-WITH-AES-256-GCM-SHA384",
  "TLS-ECDHE-ECDSA-WITH-AES-128-CCM-8", "TLS-ECDHE-ECDSA-WITH-AES-256-CCM-8",
  "TLS-ECDHE-ECDSA-WITH-AES-128-CCM", "TLS-ECDHE-ECDSA-WITH-AES-256-CCM",
  "TLS-ECDHE-RSA-WITH-AES-128-GCM-SHA256", "TLS-ECDHE-RSA-WITH-AES-256-GCM-SHA384",
];

/** ThingsBoard refuses an expired or not yet valid client certificate. */
function validityProblem(der) {
  try {
    const c = new X509Certificate(Buffer.from(der));
    const now = Date.now();
    if (now > Date.parse(c.validTo)) return `expired ${c.validTo}`;
    if (now < Date.parse(c.validFrom)) return `not valid before ${c.validFrom}`;
    return null;
  } catch (e) {
    return `unreadable (${e.message})`;
  }
}

// ThingsBoard forgets an (address, certificate) entry after 24 hours without requests.
const X509_SESSION_INACTIVITY_MS = 86_400_000;
const MAX_REMEMBERED = 10_000;

export function createDtlsTransport({ host, port, cert, key, log, onDatagram }) {
  const server = createDtlsServer({ cert, key, clientCert: "optional", connectionId: true, suites: RECOMMENDED_SUITES, mtu: 1024 });
  // ThingsBoard's X.509 map: filled by the certificate check of a full handshake, keyed by the client's address. An
  // abbreviated handshake sends no certificate, so a resumed session is a device again only from the same address.
  const certificates = new Map(); // "address:port" -> {certificate, used}
  const remembered = (where) => {
    const e = certificates.get(where);
    if (!e || Date.now() - e.used > X509_SESSION_INACTIVITY_MS) { certificates.delete(where); return null; }
    e.used = Date.now();
    return e.certificate;
  };

  server.on("session", (session) => {
    const start = session.peer;
    const where = `${start.address}:${start.port}`;
    const der = session.clientCertificate?.der;
    const problem = der && validityProblem(der);
    if (problem) {
      log.warn("dtls", `${where} client certificate ${problem}: session closed`);
      session.close();
      return;
    }
    let certificate = der ? Buffer.from(der).toString("base64") : null;
    if (certificate) {
      if (certificates.size >= MAX_REMEMBERED) certificates.delete(certificates.keys().next().value);
      certificates.set(where, { certificate, used: Date.now() });
    }
    else if (session.resumed) certificate = remembered(where);
    log.info("dtls", `${where} session ${session.resumed ? "resumed" : "established"}: ${session.cipher}${session.connectionId ? ", CID" : ""}${certificate ? ", client certificate" : ""}`);
    const peers = new Map();
    const peerAt = ({ address, port: p }) => {
      const id = `dtls:${address}:${p}`;
      let peer = peers.get(id);
      if (!peer) {
        peer = {
          id, address, port: p, scheme: "coaps",
          certificate: address === start.address && p === start.port ? certificate : null,
          send(bytes) {
            const now = session.peer;
            if (now.address !== address || now.port !== p) {
              log.debug("dtls", `${address}:${p} connection missing (the session moved to ${now.address}:${now.port}); datagram dropped`);
              return;
            }
            session.send(Buffer.from(bytes));
          },
        };
        peers.set(id, peer);
      }
      return peer;
    };
    session.on("message", (data) => onDatagram(peerAt(session.peer), new Uint8Array(data)));
    session.on("close", () => log.info("dtls", `${where} session closed`));
  });
  server.on("handshakeError", ({ peer, code, message }) => log.info("dtls", `${peer.address}:${peer.port} handshake failed: ${code} ${message}`));
  server.on("error", (e) => log.error("dtls", e.message));

  return {
    listen: async () => (await server.listen(port, host)).port,
    close: () => server.close(),
  };
}
