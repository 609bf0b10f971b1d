import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Builds the deployable bundle once, so integration tests load exactly what CDK deploys.
    globalSetup: ["test/support/build-bundle.ts"],
    // The JSON report is what .ci/run counts; the default reporter is what people read.
    reporters: ["default", "json"],
    outputFile: { json: ".test-results/vitest.json" },
    testTimeout: 20_000,
    hookTimeout: 30_000,
    env: {
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      POWERTOOLS_LOG_LEVEL: "SILENT",
      // EMF documents on stdout drown the report; test/metrics.test.ts turns them back on.
      POWERTOOLS_METRICS_DISABLED: "true",
    },
  },
});
