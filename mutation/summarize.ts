import { readFileSync, statSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

/**
 * Turns Stryker's JSON report into the committed per-file summary (mutation/summary.json) and prints it.
 * Two kinds of surviving mutant are not counted against a file, and are listed so a reader can check:
 * - message text: a string literal with a space in it ("the body is not valid JSON" → ""): tests pin
 *   codes and statuses, not prose;
 * - documented equivalents (mutation/equivalents.json): mutants no test can tell apart, each with a reason.
 * Files measured before and not in this run keep their earlier entry, with its own date.
 */

interface Mutant {
  mutatorName: string;
  replacement?: string;
  status: string;
  location: { start: { line: number; column: number }; end: { line: number; column: number } };
}

interface Report {
  files: Record<string, { source: string; mutants: Mutant[] }>;
}

interface Equivalent {
  file: string;
  mutator: string;
  original: string;
  replacement: string;
  /** How many mutants with this text it covers (default 1): two identical texts may differ in logic. */
  count?: number;
  reason: string;
}

interface Survivor {
  line: number;
  mutator: string;
  original: string;
  replacement: string;
  excluded?: "message text" | "equivalent";
}

interface FileSummary {
  measuredAt: string;
  /** Set when only part of the file was mutated (`file:start-end` on the command line). */
  lines?: string;
  mutants: number;
  killed: number;
  survived: number;
  noCoverage: number;
  /** Killed (or timed out) among all valid mutants: Stryker's own score. */
  rawScore: number;
  messageText: number;
  equivalent: number;
  /** Killed among the mutants that are neither message text nor documented equivalents. */
  score: number;
  survivors: Survivor[];
}

const SUMMARY = new URL("summary.json", import.meta.url);
const DOCS = new URL("../docs/testing.md", import.meta.url);
const TABLE_START = "<!-- mutation-table:start (written by mutation/summarize.ts) -->";
const TABLE_END = "<!-- mutation-table:end -->";
const EQUIVALENTS = new URL("equivalents.json", import.meta.url);

function sourceText(source: string, { start, end }: Mutant["location"]): string {
  const lines = source.split("\n");
  if (start.line === end.line) return (lines[start.line - 1] ?? "").slice(start.column - 1, end.column - 1);
  const first = (lines[start.line - 1] ?? "").slice(start.column - 1);
  const last = (lines[end.line - 1] ?? "").slice(0, end.column - 1);
  return [first, ...lines.slice(start.line, end.line - 1), last].join("\n");
}

function isMessageText(mutant: Mutant, original: string): boolean {
  return (
    (mutant.mutatorName === "StringLiteral" || mutant.mutatorName === "TemplateLiteral") &&
    /\s/.test(original)
  );
}

const percent = (part: number, whole: number) => (whole === 0 ? 100 : Math.round((part / whole) * 1000) / 10);
const oneLine = (text: string) => text.replace(/\s+/g, " ").slice(0, 120);

export function summarise(
  report: Report,
  equivalents: Equivalent[],
  measuredAt: string,
): Record<string, FileSummary> {
  const files: Record<string, FileSummary> = {};
  const left = new Map(equivalents.map((e) => [e, e.count ?? 1]));
  for (const [file, { source, mutants }] of Object.entries(report.files)) {
    const valid = mutants.filter((m) => !["CompileError", "RuntimeError", "Ignored"].includes(m.status));
    const detected = valid.filter((m) => m.status === "Killed" || m.status === "Timeout").length;
    const survivors: Survivor[] = [];
    let messageText = 0;
    let equivalent = 0;
    for (const mutant of valid) {
      if (mutant.status !== "Survived" && mutant.status !== "NoCoverage") continue;
      const original = sourceText(source, mutant.location);
      const replacement = mutant.replacement ?? "";
      const survivor: Survivor = {
        line: mutant.location.start.line,
        mutator: mutant.mutatorName,
        original: oneLine(original),
        replacement: oneLine(replacement),
      };
      const match = equivalents.find(
        (e) =>
          (left.get(e) ?? 0) > 0 &&
          e.file === file &&
          e.mutator === mutant.mutatorName &&
          e.original === survivor.original &&
          e.replacement === survivor.replacement,
      );
      if (match) {
        left.set(match, (left.get(match) ?? 1) - 1);
        survivor.excluded = "equivalent";
        equivalent++;
      } else if (isMessageText(mutant, original)) {
        survivor.excluded = "message text";
        messageText++;
      }
      survivors.push(survivor);
    }
    files[file] = {
      measuredAt,
      mutants: valid.length,
      killed: detected,
      survived: valid.filter((m) => m.status === "Survived").length,
      noCoverage: valid.filter((m) => m.status === "NoCoverage").length,
      rawScore: percent(detected, valid.length),
      messageText,
      equivalent,
      score: percent(detected, valid.length - messageText - equivalent),
      survivors: survivors.sort((a, b) => a.line - b.line),
    };
  }
  return files;
}

const code = (text: string) => `\`${text.replaceAll("|", "\\|")}\``;

/** The per-file table of docs/testing.md, so the docs never quote a score the summary does not hold. */
export function scoreTable(files: Record<string, FileSummary>): string {
  const rows = Object.entries(files).map(([file, s]) => {
    const left = s.survivors.filter((v) => !v.excluded);
    const survivors =
      left.map((v) => `${v.line}: ${code(v.original)} → ${code(v.replacement)}`).join("; ") || "none";
    return [
      code(`${file.replace(/^lambda\//, "")}${s.lines ? `:${s.lines}` : ""}`),
      s.measuredAt.slice(0, 16).replace("T", " "),
      s.mutants,
      s.killed,
      `${s.rawScore} %`,
      s.messageText + s.equivalent,
      `**${s.score} %**`,
      survivors,
    ].join(" | ");
  });
  return [
    "| file | measured | mutants | killed | Stryker's score | excluded | score | survivors left in logic |",
    "|---|---|---:|---:|---:|---:|---:|---|",
    ...rows.map((row) => `| ${row} |`),
  ].join("\n");
}

function writeDocsTable(files: Record<string, FileSummary>): void {
  const docs = readFileSync(DOCS, "utf8");
  const start = docs.indexOf(TABLE_START);
  const end = docs.indexOf(TABLE_END);
  if (start < 0 || end < start) return;
  writeFileSync(
    DOCS,
    `${docs.slice(0, start + TABLE_START.length)}\n${scoreTable(files)}\n${docs.slice(end)}`,
  );
}

function main(reportPath: string, durationSeconds: number, patterns: string[]): void {
  const report = JSON.parse(readFileSync(reportPath, "utf8")) as Report;
  const equivalents = JSON.parse(readFileSync(EQUIVALENTS, "utf8")) as Equivalent[];
  // When the report was written, so summarising an older report again keeps its date.
  const measuredAt = statSync(reportPath).mtime.toISOString();
  const measured = summarise(report, equivalents, measuredAt);
  for (const pattern of patterns) {
    const [, file, lines] = /^(.+?):(\d+(?::\d+)?-\d+(?::\d+)?)$/.exec(pattern) ?? [];
    const entry = file === undefined ? undefined : measured[file];
    if (entry) entry.lines = entry.lines ? `${entry.lines},${lines}` : lines;
  }

  let previous: { files?: Record<string, FileSummary> } = {};
  try {
    previous = JSON.parse(readFileSync(SUMMARY, "utf8"));
  } catch {
    // first run
  }
  const files = Object.fromEntries(
    Object.entries({ ...previous.files, ...measured }).sort(([a], [b]) => a.localeCompare(b)),
  );
  const summary = {
    schema: 1,
    lastRun: {
      at: measuredAt,
      durationSeconds,
      mutate: patterns.length > 0 ? patterns : "every file in CORE_FILES",
      node: process.version,
      concurrency: Number(process.env.MUTATION_CONCURRENCY ?? 1),
    },
    files,
  };
  writeFileSync(SUMMARY, `${JSON.stringify(summary, null, 2)}\n`);
  writeDocsTable(files);

  const rows = Object.entries(files).map(([file, s]) => ({
    file: s.lines ? `${file}:${s.lines}` : file,
    mutants: s.mutants,
    killed: s.killed,
    raw: `${s.rawScore}%`,
    excluded: s.messageText + s.equivalent,
    score: `${s.score}%`,
    "this run": file in measured ? "yes" : s.measuredAt.slice(0, 10),
  }));
  console.log(`\nmutation score per file (excluding message texts and documented equivalents):`);
  console.table(rows);
  for (const [file, s] of Object.entries(measured)) {
    for (const v of s.survivors.filter((v) => !v.excluded)) {
      console.log(`survived ${file}:${v.line} ${v.mutator}: ${v.original} → ${v.replacement}`);
    }
  }
  console.log(
    `${Object.keys(measured).length} files in ${durationSeconds} s; summary in mutation/summary.json and docs/testing.md`,
  );
}

const isScript = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
// `tsx mutation/summarize.ts --docs` rewrites only the docs table from the committed summary.
if (isScript && process.argv[2] === "--docs") writeDocsTable(JSON.parse(readFileSync(SUMMARY, "utf8")).files);
else if (isScript && process.argv[2])
  main(process.argv[2], Number(process.argv[3] ?? 0), process.argv.slice(4));
