import { afterAll, describe, expect, it } from "vitest";
import { type LocalEnvironment, startLocalEnvironment } from "../scripts/local-environment.ts";

/** The local run (npm start, npm run invoke) with the Parameters and Secrets extension emulated in front of Secrets Manager. */
let local: LocalEnvironment | undefined;
afterAll(async () => {
  await local?.close();
});

describe("a local run with LOCAL_SECRETS_EXTENSION=true", () => {
  it("reads the portal's secret through the emulated extension and transfers", async () => {
    local = await startLocalEnvironment({ SKIP_BUILD: "true", LOCAL_SECRETS_EXTENSION: "true" });
    const context = { awsRequestId: "local-extension", getRemainingTimeInMillis: () => 20_000 };
    const result = await local.handler({ chatId: 113, operatorId: 12 }, context as never);
    expect(result).toMatchObject({ transferred: true, chatId: 113 });
    expect(local.extension?.requests).toBe(1);
    // The extension's own GetSecretValue: the function itself did not call Secrets Manager.
    expect([...local.aws.calls.values()]).toEqual([1]);
  });
});
