/**
 * `npm run openapi`: writes the generated API documents, docs/openapi.json from the zod schemas and
 * the error-code table of docs/api.md from the problem catalogue. `-- --check` only compares, exiting
 * 1 when a committed file is stale (test/openapi.test.ts checks the same).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { relative } from "node:path";
import { OPENAPI_PATH, renderOpenApiDocument } from "./openapi/document.ts";
import { API_DOC_PATH, renderApiDoc } from "./openapi/problem-table.ts";

if (process.argv.includes("--help") || process.argv.includes("-h")) {
  console.log(`usage: npm run openapi [-- --check]

Writes docs/openapi.json from the request schema and the problem catalogue, and the error-code
table in docs/api.md; --check only compares and exits 1 when a committed file is stale.`);
  process.exit(0);
}

const committed = (path: string): string | undefined => {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
};

for (const [path, generated] of [
  [OPENAPI_PATH, renderOpenApiDocument()],
  [API_DOC_PATH, renderApiDoc()],
] as const) {
  const name = relative(process.cwd(), path);
  if (committed(path) === generated) {
    console.log(`${name} is up to date`);
  } else if (process.argv.includes("--check")) {
    console.error(`${name} is stale: run npm run openapi`);
    process.exitCode = 1;
  } else {
    writeFileSync(path, generated);
    console.log(`wrote ${name}`);
  }
}
