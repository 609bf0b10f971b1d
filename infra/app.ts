import { App } from "aws-cdk-lib";
import { ConfigError, configFromContext, type TransferConfig } from "./config.ts";
import { addNagChecks } from "./nag.ts";
import { TransferStack } from "./stack.ts";

// Entry point of `npx cdk …` (cdk.json "app"). Settings come from the "b24-transfer" context key.
const app = new App();
let config: TransferConfig;
try {
  config = configFromContext(app.node);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  // The list of problems is the whole message: a stack trace and source excerpt would only bury it.
  console.error(error.message);
  process.exit(1);
}
new TransferStack(app, config.stackName, { config });
addNagChecks(app);
