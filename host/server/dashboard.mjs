// The dashboard's files, as the project's build left them in build/dashboard (scripts/build-dashboard.mjs): the page
// at "/", its script and style sheet beside it. Nothing else outside /api/ is served.

import fs from "node:fs";
import { fileURLToPath } from "node:url";

const DIR = fileURLToPath(new URL("../../build/dashboard/", import.meta.url));
const FILES = {
  "/": ["index.html", "text/html; charset=utf-8"],
  "/app.js": ["app.js", "text/javascript; charset=utf-8"],
  "/app.css": ["app.css", "text/css; charset=utf-8"],
};
// The page loads only its own script and style and talks only to this server.
const POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

export function serveDashboard(req, res, pathname) {
  const file = FILES[pathname];
  const answer = (status, type, body) => {
    res.writeHead(status, { "content-type": type, "content-length": body.length, "cache-control": "no-cache", "x-content-type-options": "nosniff", "content-security-policy": POLICY });
    res.end(req.method === "HEAD" ? undefined : body);
  };
  if (!file) return answer(404, "text/plain; charset=utf-8", Buffer.from(`no such page: ${pathname} (the dashboard is at /, the HTTP API under /api/)\n`));
  if (req.method !== "GET" && req.method !== "HEAD") return answer(405, "text/plain; charset=utf-8", Buffer.from(`${req.method} is not supported on ${pathname}\n`));
  let body;
  try {
    body = fs.readFileSync(DIR + file[0]);
  } catch {
    return answer(503, "text/plain; charset=utf-8", Buffer.from("the dashboard is not built: run npm run setup (or node scripts/build-dashboard.mjs)\n"));
  }
  answer(200, file[1], body);
}
