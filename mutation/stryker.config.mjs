// Mutation testing of the function's core (npm run mutation; see docs/testing.md). Runs under Node 24
// via mutation/run.sh, which installs Stryker outside package.json because Stryker needs Node >= 22.

/**
 * The files whose mutants are counted: the ONE list to update when files move or are added.
 * `npm run mutation -- <file>…` measures a subset instead.
 */
export const CORE_FILES = [
  "lambda/domain/transfer-request.ts",
  "lambda/bitrix24/error-policy.ts",
  "lambda/bitrix24/batch.ts",
  "lambda/bitrix24/refusal.ts",
  "lambda/domain/problems.ts",
  "lambda/bitrix24/client.ts",
  "lambda/aws/secret-cache.ts",
  "lambda/portals/portal-secret.ts",
  "lambda/domain/endpoint-url.ts",
  "lambda/events/api-gateway.ts",
  "lambda/bitrix24/http-exchange.ts",
  "lambda/bitrix24/deadline.ts",
  "lambda/bitrix24/portal-move.ts",
  "lambda/domain/hand-over.ts",
  "lambda/domain/chat-state.ts",
  "lambda/domain/chat-guard.ts",
  "lambda/domain/chat-read-request.ts",
  "lambda/domain/safe-text.ts",
  "lambda/portals/oauth/token-endpoint.ts",
  "lambda/portals/oauth/session.ts",
  "lambda/auth/bearer-token.ts",
  "lambda/auth/client-tokens.ts",
  "lambda/handlers/http/read-request.ts",
  "lambda/handlers/http/idempotency-key.ts",
  "lambda/domain/idempotency-key-pattern.ts",
];

const interactive = Boolean(process.stdout.isTTY);

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  mutate: CORE_FILES,
  testRunner: "vitest",
  vitest: {
    configFile: "mutation/vitest.config.ts",
    // Many tests reach the code through the deployed bundle (dist/lambda), which is loaded by URL: vitest's
    // import graph does not relate those tests to the source files, so "related" would skip them.
    related: false,
  },
  coverageAnalysis: "perTest",
  // The two cores here are shared; run.sh passes --concurrency from MUTATION_CONCURRENCY.
  concurrency: 1,
  // TypeScript 7 has no JS API, so Stryker's tsconfig rewriting and the typescript-checker cannot run:
  // point the former at a file that does not exist, and use no checker (vitest reports type errors anyway).
  tsconfigFile: "mutation/no-tsconfig.json",
  checkers: [],
  disableTypeChecks: "lambda/**/*.ts",
  ignorePatterns: ["/.cache", "/dist", "/cdk.out", "/coverage", "/.test-results"],
  tempDirName: ".stryker-tmp",
  cleanTempDir: "always",
  // Tests that bundle or start servers are slow on a busy machine; a mutant is a timeout only well past that.
  timeoutMS: 60_000,
  timeoutFactor: 2,
  // The initial run covers the whole suite with per-test coverage; under load it passed Stryker's 5-minute default.
  dryRunTimeoutMinutes: 20,
  reporters: [interactive ? "progress" : "progress-append-only", "clear-text", "html", "json"],
  clearTextReporter: { allowColor: interactive, logTests: false, reportTests: false, reportMutants: false },
  htmlReporter: { fileName: "reports/mutation/index.html" },
  jsonReporter: { fileName: "reports/mutation/mutation.json" },
  logLevel: "info",
  fileLogLevel: "off",
};
