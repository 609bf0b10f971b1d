import { App } from "aws-cdk-lib";
import { configFromContext } from "./config.ts";
import { addNagChecks } from "./nag.ts";
import { TransferStack } from "./stack.ts";

// Entry point of `npx cdk …` (cdk.json "app"). Settings come from the "b24-transfer" context key.
const app = new App();
const config = configFromContext(app.node);
new TransferStack(app, config.stackName, { config });
addNagChecks(app);
