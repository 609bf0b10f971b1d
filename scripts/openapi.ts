/**
 * `npm run openapi`: writes docs/openapi.json from the zod schemas. `npm run openapi -- --check` only
 * compares, exiting 1 when the committed file is stale (test/openapi.test.ts checks the same).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { OPENAPI_PATH, renderOpenApiDocument } from "./openapi/document.ts";

function committed(): string | undefined {
  try {
    return readFileSync(OPENAPI_PATH, "utf8");
  } catch {
    return undefined;
  }
}

if (process.argv.includes("--help") || process.argv.includes("-h")) {
  console.log(`usage: npm run openapi [-- --check]

Writes docs/openapi.json from the request schema and the problem catalogue; --check only
compares and exits 1 when the committed file is stale.`);
  process.exit(0);
}

const generated = renderOpenApiDocument();
const upToDate = committed() === generated;
if (upToDate) {
  console.log("docs/openapi.json is up to date");
} else if (process.argv.includes("--check")) {
  console.error("docs/openapi.json is stale: run npm run openapi");
  process.exitCode = 1;
} else {
  writeFileSync(OPENAPI_PATH, generated);
  console.log("wrote docs/openapi.json");
}
