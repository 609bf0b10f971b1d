import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from "@aws-sdk/client-secrets-manager";
import { afterAll, describe, expect, it } from "vitest";
import { SecretsManagerModel } from "./support/secrets-manager-model.ts";

// The OAuth tests trust this model's compare-and-swap; these pin the documented semantics it follows.
const model = new SecretsManagerModel();
const stub = model.attach();
afterAll(() => stub.restore());

const client = new SecretsManagerClient({ region: "eu-central-1" });
const failureName = (promise: Promise<unknown>) =>
  promise.then(
    () => "succeeded",
    (error: Error) => error.name,
  );

describe("Secrets Manager model", () => {
  it("writes a version beside AWSCURRENT, then moves AWSCURRENT only from the version named", async () => {
    const v0 = model.seed("s1", "zero");
    await client.send(
      new PutSecretValueCommand({
        SecretId: "s1",
        SecretString: "one",
        ClientRequestToken: "v1-token-0000000000000000000000000",
        VersionStages: ["NEXT"],
      }),
    );
    expect((await client.send(new GetSecretValueCommand({ SecretId: "s1" }))).SecretString).toBe("zero");

    const stale = new UpdateSecretVersionStageCommand({
      SecretId: "s1",
      VersionStage: "AWSCURRENT",
      MoveToVersionId: "v1-token-0000000000000000000000000",
      RemoveFromVersionId: "not-the-current-version",
    });
    expect(await failureName(client.send(stale))).toBe("InvalidParameterException");

    await client.send(
      new UpdateSecretVersionStageCommand({
        SecretId: "s1",
        VersionStage: "AWSCURRENT",
        MoveToVersionId: "v1-token-0000000000000000000000000",
        RemoveFromVersionId: v0,
      }),
    );
    const current = await client.send(new GetSecretValueCommand({ SecretId: "s1" }));
    expect([current.SecretString, current.VersionId]).toEqual(["one", "v1-token-0000000000000000000000000"]);
    expect(model.stagesOf("s1", v0)).toEqual(["AWSPREVIOUS"]);
    // The second mover read v0 too: its swap must fail now.
    expect(await failureName(client.send(stale))).toBe("InvalidParameterException");
    const again = new UpdateSecretVersionStageCommand({
      SecretId: "s1",
      VersionStage: "AWSCURRENT",
      MoveToVersionId: v0,
      RemoveFromVersionId: v0,
    });
    expect(await failureName(client.send(again))).toBe("InvalidParameterException");
    expect(model.promotions("s1")).toEqual(["v1-token-0000000000000000000000000"]);

    const described = await client.send(new DescribeSecretCommand({ SecretId: "s1" }));
    expect(described.VersionIdsToStages?.["v1-token-0000000000000000000000000"]).toEqual([
      "NEXT",
      "AWSCURRENT",
    ]);
  });

  it("repeats a write with the same token as a no-op and refuses a different value under it", async () => {
    model.seed("s2", "zero");
    const put = (value: string) =>
      client.send(
        new PutSecretValueCommand({
          SecretId: "s2",
          SecretString: value,
          ClientRequestToken: "same-token-000000000000000000000000",
          VersionStages: ["NEXT"],
        }),
      );
    await put("one");
    await put("one");
    expect(model.versionCount("s2")).toBe(2);
    expect(await failureName(put("two"))).toBe("ResourceExistsException");
  });

  it("without VersionStages a write becomes current, as the API's default", async () => {
    model.seed("s3", "zero");
    await client.send(new PutSecretValueCommand({ SecretId: "s3", SecretString: "one" }));
    expect(model.current("s3").value).toBe("one");
  });

  it("injects failures per operation", async () => {
    model.seed("s4", "zero");
    model.failNext("GetSecretValue");
    expect(await failureName(client.send(new GetSecretValueCommand({ SecretId: "s4" })))).toBe(
      "InternalServiceError",
    );
    expect(await failureName(client.send(new GetSecretValueCommand({ SecretId: "s4" })))).toBe("succeeded");
  });
});
