/**
 * `npm test` must not pass vacuously: a `.only` or `.skip` left in a test, or a test
 * file or project that silently stopped running, fails it. Vitest writes a JSON report;
 * this reads it against the floor recorded in tests/test-floor.json.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

type Report = {
  numTotalTests: number;
  numPassedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  testResults: Array<{ name: string; assertionResults: Array<{ fullName: string; status: string }> }>;
};

export function checkTestReport(root: string, reportPath: string): { ran: number; problem: string | null } {
  const report = JSON.parse(readFileSync(reportPath, "utf8")) as Report;
  const floor = (JSON.parse(readFileSync(join(root, "tests/test-floor.json"), "utf8")) as { tests: number }).tests;
  const notRun = report.testResults.flatMap((file) =>
    file.assertionResults
      .filter((t) => t.status !== "passed" && t.status !== "failed")
      .map((t) => `${file.name.replace(`${root}/`, "")}: ${t.fullName} (${t.status})`),
  );
  if (notRun.length)
    return { ran: report.numPassedTests, problem: `tests were skipped or left to do:\n  ${notRun.join("\n  ")}` };
  if (report.numTotalTests < floor)
    return {
      ran: report.numTotalTests,
      problem:
        `only ${report.numTotalTests} tests ran, fewer than the floor of ${floor} in tests/test-floor.json: ` +
        "a test file or project stopped running (lower the floor only when tests were removed on purpose)",
    };
  return { ran: report.numTotalTests, problem: null };
}
