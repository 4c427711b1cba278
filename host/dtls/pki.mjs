// Test and demo certificates made with the openssl command line: a CA, server and client certificates signed by
// it, with chosen key type, names and validity dates. Used by tests, benchmarks and the local server's set-up.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

function openssl(args, cwd) {
  try {
    return execFileSync("openssl", args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    throw new Error(`openssl ${args.join(" ")} failed: ${e.stderr ? e.stderr.toString() : e.message}`);
  }
}

function newKey(file, type, cwd) {
  if (type === "rsa") openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", file], cwd);
  else if (type === "p384") openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-out", file], cwd);
  else openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", file], cwd);
}

/** Dates as openssl ca wants them (YYYYMMDDHHMMSSZ). */
function stamp(date) {
  return date.toISOString().replace(/[-:T]/g, "").slice(0, 14) + "Z";
}

/**
 * Creates a CA in `dir`: { dir, name, cert (path), key (path), pem (text) }. `type`: "ec" (P-256), "p384" or "rsa".
 */
export function createCa(dir, name = "ca", { type = "ec", cn = `Test CA ${name}` } = {}) {
  fs.mkdirSync(path.join(dir, `${name}.db`, "certs"), { recursive: true });
  newKey(`${name}.key`, type, dir);
  openssl(["req", "-x509", "-new", "-key", `${name}.key`, "-subj", `/CN=${cn}`, "-days", "3650", "-sha256",
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", `${name}.pem`], dir);
  const db = path.join(dir, `${name}.db`);
  fs.writeFileSync(path.join(db, "index.txt"), "");
  fs.writeFileSync(path.join(db, "serial"), "1000\n");
  fs.writeFileSync(path.join(db, "ca.cnf"), [
    "[ca]", "default_ca = this", "[this]", `database = ${db}/index.txt`, `new_certs_dir = ${db}/certs`,
    `serial = ${db}/serial`, "default_md = sha256", "policy = any", "unique_subject = no", "email_in_dn = no",
    "[any]", "commonName = supplied", "",
  ].join("\n"));
  return { dir, name, cert: path.join(dir, `${name}.pem`), key: path.join(dir, `${name}.key`), pem: fs.readFileSync(path.join(dir, `${name}.pem`), "latin1") };
}

/**
 * Issues a certificate from `ca`: { cert, key (paths), pem, keyPem }. Options: cn, dns (names), ips, type,
 * usage "server" | "client", notBefore / notAfter (Date; default now - 1 day .. now + 1 year).
 * @param {ReturnType<typeof createCa>} ca
 * @param {string} name
 * @param {{ cn?: string, dns?: string[], ips?: string[], type?: "ec" | "rsa", usage?: "server" | "client", notBefore?: Date,
 *   notAfter?: Date }} [options]
 */
export function issueCert(ca, name, { cn = name, dns = [], ips = [], type = "ec", usage = "server", notBefore, notAfter } = {}) {
  const dir = ca.dir;
  const from = notBefore || new Date(Date.now() - 86400e3);
  const to = notAfter || new Date(Date.now() + 365 * 86400e3);
  newKey(`${name}.key`, type, dir);
  openssl(["req", "-new", "-key", `${name}.key`, "-subj", `/CN=${cn}`, "-out", `${name}.csr`], dir);
  const san = [...dns.map((d) => `DNS:${d}`), ...ips.map((i) => `IP:${i}`)];
  const ext = [
    "basicConstraints=CA:FALSE",
    `keyUsage=critical,digitalSignature${type === "rsa" ? ",keyEncipherment" : ""}`,
    `extendedKeyUsage=${usage === "client" ? "clientAuth" : "serverAuth"}`,
    ...(san.length ? [`subjectAltName=${san.join(",")}`] : []),
  ];
  fs.writeFileSync(path.join(dir, `${name}.ext`), ext.join("\n") + "\n");
  openssl(["ca", "-batch", "-notext", "-config", path.join(dir, `${ca.name}.db`, "ca.cnf"), "-cert", ca.cert, "-keyfile", ca.key,
    "-in", `${name}.csr`, "-out", `${name}.pem`, "-startdate", stamp(from), "-enddate", stamp(to), "-extfile", `${name}.ext`], dir);
  return {
    cert: path.join(dir, `${name}.pem`),
    key: path.join(dir, `${name}.key`),
    pem: fs.readFileSync(path.join(dir, `${name}.pem`), "latin1"),
    keyPem: fs.readFileSync(path.join(dir, `${name}.key`), "latin1"),
  };
}
