import { pathToFileURL } from "node:url";
import type { Context } from "aws-lambda";
import { PROJECT_ROOT } from "../../infra/bundling.ts";

/** The deployable bundle exactly as CDK ships it (built by the global setup). */
export type BundledHandler = (event: unknown, context: Context) => Promise<unknown>;

export async function loadBundle(): Promise<{
  handler: BundledHandler;
  createHandler: () => BundledHandler;
}> {
  return import(pathToFileURL(`${PROJECT_ROOT}/dist/lambda/index.mjs`).href);
}
