export { type LocalSecretsManager, startLocalSecretsManager } from "./local-aws.ts";
