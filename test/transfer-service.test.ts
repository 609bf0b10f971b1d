import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { FAILURE_TTL_MS } from "../lambda/aws/secret-cache.ts";
import { loadConfig } from "../lambda/config.ts";
import type { TransferRequest } from "../lambda/domain/transfer-request.ts";
import { createTransferService } from "../lambda/service/transfer-service.ts";
import { DEMO_BOT, type Simulator, startSimulator } from "../scripts/simulator/index.ts";
import { captureLogs } from "./support/capture-logs.ts";
import { failure } from "./support/failure.ts";

const secretsManager = mockClient(SecretsManagerClient);
let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator({ rateLimit: false });
});
afterAll(async () => {
  secretsManager.restore();
  await sim.close();
});
beforeEach(() => {
  sim.reset();
  secretsManager.reset();
});

const request: TransferRequest = { chatId: 112, target: { operatorId: 12 }, leave: false };
const deadline = () => Date.now() + 5_000;
const secret = (webhookUrl: string, extra: Record<string, unknown> = {}) => ({
  SecretString: JSON.stringify({ webhookUrl, clientId: DEMO_BOT.clientId, ...extra }),
  VersionId: "v1",
});

function service(env: Record<string, string> = {}) {
  return createTransferService(
    loadConfig({
      PORTALS: JSON.stringify({ main: "b24/main", eu: "b24/eu" }),
      DEFAULT_PORTAL: "main",
      ALLOW_HTTP_LOOPBACK: "true",
      ...env,
    }),
  );
}

describe("transfer service", () => {
  it("reads the default portal's secret and performs the transfer", async () => {
    secretsManager.on(GetSecretValueCommand, { SecretId: "b24/main" }).resolves(secret(sim.webhookUrl()));
    const outcome = await service().transfer(request, deadline());
    expect(outcome).toEqual({
      result: {
        transferred: true,
        chatId: 112,
        target: { operatorId: 12 },
        leave: false,
        chat: { state: "withUser", userId: 12, botInChat: null },
        portal: "main",
      },
      attempts: 1,
      // The guard's read, counted apart from the hand-over's own calls.
      reads: 1,
    });
    expect(sim.ledger).toMatchObject([{ chatId: 112, to: { userId: 12 }, botId: 7 }]);
  });

  it("passes the configured client id, which alone picks the acting bot (a botId changes nothing)", async () => {
    secretsManager
      .on(GetSecretValueCommand)
      .resolves(secret(sim.webhookUrl(), { botId: 7, clientId: "other-bot-client" }));
    // Bot 8 was registered with CLIENT_ID "other-bot-client"; Bitrix24 has no BOT_ID parameter.
    await service().transfer(request, deadline());
    expect(sim.ledger).toMatchObject([{ chatId: 112, botId: 8 }]);
    secretsManager.on(GetSecretValueCommand).resolves(secret(sim.webhookUrl(), { clientId: "no-such-bot" }));
    const refused = await failure(service().transfer({ ...request, chatId: 113 }, deadline()));
    expect(refused.code).toBe("PORTAL_MISCONFIGURED");
    expect(refused.details.bitrix24?.error).toBe("BOT_ID_ERROR");
    expect(refused.details.detail).toContain("imbot.register");
    expect(sim.ledger).toHaveLength(1);
  });

  it("logs once per secret that an old botId in it has no effect", async () => {
    secretsManager.on(GetSecretValueCommand).resolves(secret(sim.webhookUrl(), { botId: 7 }));
    const logs = captureLogs();
    try {
      const svc = service({ SECRET_CACHE_TTL_SECONDS: "0" });
      await svc.transfer(request, deadline());
      await svc.transfer({ ...request, chatId: 113 }, deadline());
    } finally {
      logs.stop();
    }
    expect(logs.lines.filter((line) => line.includes("has no effect"))).toHaveLength(1);
    expect(sim.ledger).toHaveLength(2);
  });

  it("reads each secret once per TTL and shares the first read between concurrent calls", async () => {
    secretsManager.on(GetSecretValueCommand).resolves(secret(sim.webhookUrl()));
    const svc = service();
    await Promise.all(
      Array.from({ length: 5 }, (_, i) => svc.transfer({ ...request, chatId: 112 + i }, deadline())),
    );
    await svc.transfer({ ...request, chatId: 118 }, deadline());
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    expect(sim.ledger).toHaveLength(6);
  });

  it("reads the secret again after the TTL", async () => {
    secretsManager.on(GetSecretValueCommand).resolves(secret(sim.webhookUrl()));
    const svc = service({ SECRET_CACHE_TTL_SECONDS: "0" });
    await svc.transfer(request, deadline());
    await svc.transfer({ ...request, chatId: 113 }, deadline());
    // Each transfer is two calls (the guard's read, the transfer), each with the secret read afresh.
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(4);
  });

  it("recovers from a rotated webhook by reading the secret again once", async () => {
    sim.addWebhook({ userId: 1, code: "newcode", scopes: ["imopenlines", "imbot"] });
    secretsManager
      .on(GetSecretValueCommand)
      .resolvesOnce(secret(sim.webhookUrl({ userId: 1, code: "oldcode" })))
      .resolves(secret(sim.webhookUrl({ userId: 1, code: "newcode" })));
    const outcome = await service().transfer(request, deadline());
    // The guard's read meets the old webhook first: refused, the secret read again, the read repeated.
    expect([outcome.reads, outcome.attempts]).toEqual([2, 1]);
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(2);
    expect(sim.ledger).toHaveLength(1);
  });

  it("reads once more, not in a loop, when the secret still holds a revoked webhook", async () => {
    sim.addWebhook({ userId: 1, code: "soonrevoked", scopes: ["imopenlines", "imbot"] });
    sim.revokeWebhook("soonrevoked");
    secretsManager
      .on(GetSecretValueCommand)
      .resolves(secret(sim.webhookUrl({ userId: 1, code: "soonrevoked" })));
    const error = await failure(service().transfer(request, deadline()));
    expect([error.code, error.details.bitrix24?.error]).toEqual([
      "PORTAL_MISCONFIGURED",
      "INVALID_CREDENTIALS",
    ]);
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(2);
    expect(sim.hits).toHaveLength(1);
  });

  it("refuses an unknown portal before reading any secret", async () => {
    const error = await failure(service().transfer({ ...request, portal: "nope" }, deadline()));
    expect([error.code, error.status]).toEqual(["UNKNOWN_PORTAL", 404]);
    expect(secretsManager.calls()).toHaveLength(0);
  });

  it("uses the named portal's secret", async () => {
    secretsManager.on(GetSecretValueCommand, { SecretId: "b24/eu" }).resolves(secret(sim.webhookUrl()));
    const outcome = await service().transfer({ ...request, portal: "eu" }, deadline());
    expect(outcome.result.portal).toBe("eu");
  });

  it.each([
    ["ResourceNotFoundException", "PORTAL_MISCONFIGURED", 502],
    ["AccessDeniedException", "PORTAL_MISCONFIGURED", 502],
    ["DecryptionFailure", "PORTAL_MISCONFIGURED", 502],
    ["ThrottlingException", "CREDENTIALS_UNAVAILABLE", 503],
    ["InternalServiceError", "CREDENTIALS_UNAVAILABLE", 503],
  ])("maps Secrets Manager's %s to %s", async (name, code, status) => {
    const awsError = Object.assign(new Error(`arn:aws:secretsmanager:eu-west-1:1:secret:b24/main ${name}`), {
      name,
    });
    secretsManager.on(GetSecretValueCommand).rejects(awsError);
    const error = await failure(service().transfer(request, deadline()));
    expect([error.code, error.status]).toEqual([code, status]);
    expect(error.details.detail).not.toContain("arn:");
    expect(sim.hits).toHaveLength(0);
  });

  it("remembers a failed secret read for a few seconds, then reads again", async () => {
    secretsManager
      .on(GetSecretValueCommand)
      .rejectsOnce(Object.assign(new Error("slow down"), { name: "ThrottlingException" }))
      .resolves(secret(sim.webhookUrl()));
    const svc = service();
    expect((await failure(svc.transfer(request, deadline()))).code).toBe("CREDENTIALS_UNAVAILABLE");
    expect((await failure(svc.transfer(request, deadline()))).code).toBe("CREDENTIALS_UNAVAILABLE");
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      vi.setSystemTime(Date.now() + FAILURE_TTL_MS);
      await expect(svc.transfer(request, deadline())).resolves.toMatchObject({
        result: { transferred: true },
      });
    } finally {
      vi.useRealTimers();
    }
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it("reports a binary-only secret as misconfigured", async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretBinary: new Uint8Array([1, 2]) });
    expect((await failure(service().transfer(request, deadline()))).code).toBe("PORTAL_MISCONFIGURED");
  });

  it("never reports result:false as a transfer", async () => {
    secretsManager.on(GetSecretValueCommand).resolves(secret(sim.webhookUrl()));
    sim.injectFault({ kind: "result-false" }, { method: "imopenlines.bot.session.transfer", times: 2 });
    const error = await failure(service().transfer(request, deadline()));
    expect([error.code, error.status]).toEqual(["OUTCOME_UNKNOWN", 502]);
    // The read showed the first had not run, so it was sent once more; never a third time.
    expect(sim.hits.filter((hit) => hit.method === "imopenlines.bot.session.transfer")).toHaveLength(2);
    expect(sim.ledger).toHaveLength(0);
  });
});
