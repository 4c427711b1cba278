// The test reporter `npm test` uses: one line per test grouped by file, every failure again in full at the end, and
// the test runner's standard closing lines (`# tests N`, `# pass N`, `# fail N`, ...) as the TAP reporter ends, so
// a CI log can be read by eye and by the tools that read node:test's TAP summary.
import path from "node:path";
import { inspect } from "node:util";

const colour = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code, text) => (colour ? `\x1b[${code}m${text}\x1b[0m` : text);
const ms = (d) => (d >= 1000 ? `${(d / 1000).toFixed(1)} s` : `${Math.round(d)} ms`);

function describe(error) {
  const e = error && error.cause ? error.cause : error;
  if (!e) return "failed";
  if (e.code === "ERR_TEST_FAILURE" && e.failureType === "cancelledByParent") return "cancelled (its file or parent ended)";
  let text = (e.stack || inspect(e)).split("\n").slice(0, 40).join("\n");
  // An assertion with a message of its own says nothing of the values: show them.
  if (e.code === "ERR_ASSERTION" && e.generatedMessage === false && "actual" in e) {
    const show = (v) => inspect(v, { depth: 4, maxStringLength: 2000, breakLength: 120 });
    text += `\nactual: ${show(e.actual)}\nexpected: ${show(e.expected)} (${e.operator})`;
  }
  return text;
}

const subtestsFailed = (error) => error?.failureType === "subtestsFailed";

export default async function* reporter(source) {
  const failures = [];
  let file = null;
  let subFailures = []; // failed steps (subtests) of the top-level test that is running, reported with it
  for await (const event of source) {
    const { type, data } = event;
    if (type === "test:fail" && data.nesting > 0 && !subtestsFailed(data.details?.error)) {
      subFailures.push({ name: data.name, error: data.details?.error });
    } else if ((type === "test:pass" || type === "test:fail") && data.nesting === 0 && data.details?.type !== "suite") {
      if (data.file && data.file !== file) {
        file = data.file;
        yield `\n${paint("1", path.relative(process.cwd(), file))}\n`;
      }
      const took = paint("2", `(${ms(data.details?.duration_ms ?? 0)})`);
      if (type === "test:pass") {
        yield data.skip !== undefined ? `  - ${data.name} ${paint("33", "skipped")}\n` : `  ${paint("32", "ok")}   ${data.name} ${took}\n`;
      } else if (subtestsFailed(data.details?.error) && subFailures.length) {
        yield `  ${paint("31", "FAIL")} ${data.name} ${took}\n`;
        for (const s of subFailures) {
          failures.push({ file: data.file, name: `${data.name} › ${s.name}`, error: s.error });
          yield `       ${paint("31", "FAIL")} ${s.name}\n`;
        }
      } else {
        failures.push({ file: data.file, name: data.name, error: data.details?.error });
        yield `  ${paint("31", "FAIL")} ${data.name} ${took}\n`;
      }
      subFailures = [];
    } else if (type === "test:diagnostic" && data.nesting === 0 && /^(tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) /.test(data.message)) {
      if (data.message.startsWith("tests ") && failures.length) {
        yield `\n${paint("31", `${failures.length} failed:`)}\n`;
        for (const f of failures) {
          yield `\n${paint("31", "FAIL")} ${f.file ? path.relative(process.cwd(), f.file) + ": " : ""}${f.name}\n${describe(f.error).replace(/^/gm, "    ")}\n`;
        }
        yield "\n";
      } else if (data.message.startsWith("tests ")) {
        yield "\n";
      }
      yield `# ${data.message}\n`;
    }
  }
}
