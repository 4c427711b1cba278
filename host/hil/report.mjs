// HIL results as a JSON report and a JUnit XML file (one testcase per scenario; a failure names its step).
import fs from "node:fs";
import path from "node:path";

function xml(text) {
  return String(text)
    // XML 1.0 cannot carry most control characters, not even escaped.
    .replace(/[\x00-\x08\x0b\x0c\x0e-\x1f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`)
    .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

export function junitXml(run) {
  const cases = run.scenarios.map((s) => {
    const head = `  <testcase classname="hil.${xml(run.target.kind)}" name="${xml(s.name)}" time="${(s.realMs / 1000).toFixed(3)}">`;
    const steps = s.steps.map((st, i) => `${i + 1}. [${st.status}] ${st.name}${st.detail ? ": " + st.detail : ""}`).join("\n");
    let body = "";
    if (s.status === "failed") body += `\n    <failure message="${xml(s.failure.message)}" type="${xml(s.failure.type)}">${xml(steps)}</failure>`;
    if (s.status === "skipped") body += `\n    <skipped message="${xml(s.skipped)}"/>`;
    body += `\n    <system-out>${xml(s.console.join("\n"))}</system-out>`;
    return `${head}${body}\n  </testcase>`;
  });
  const failures = run.scenarios.filter((s) => s.status === "failed").length;
  const skipped = run.scenarios.filter((s) => s.status === "skipped").length;
  const time = run.scenarios.reduce((t, s) => t + s.realMs, 0) / 1000;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n <testsuite name="hil ${xml(run.target.description)}" tests="${run.scenarios.length}" ` +
    `failures="${failures}" errors="0" skipped="${skipped}" time="${time.toFixed(3)}" timestamp="${run.started}">\n` +
    `${cases.join("\n")}\n </testsuite>\n</testsuites>\n`;
}

/** Writes hil-report.json and hil-junit.xml into `dir`; returns their paths. */
export function writeReports(dir, run) {
  fs.mkdirSync(dir, { recursive: true });
  const json = path.join(dir, "hil-report.json");
  const junit = path.join(dir, "hil-junit.xml");
  fs.writeFileSync(json, JSON.stringify(run, null, 2) + "\n");
  fs.writeFileSync(junit, junitXml(run));
  return { json, junit };
}
