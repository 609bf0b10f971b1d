import { describe, expect, it } from "vitest";
import { TransferError } from "../lambda/domain/problems.ts";
import { parseWebhookSecret } from "../lambda/portals/portal-secret.ts";

const strict = { allowHttpLoopback: false };
const local = { allowHttpLoopback: true };
const CODE = "s3cr3tW3bh00kC0de";

function failure(raw: string, options = strict): TransferError {
  try {
    parseWebhookSecret(raw, options);
  } catch (error) {
    if (error instanceof TransferError) return error;
    throw error;
  }
  throw new Error("expected the secret to be rejected");
}

describe("portal secret", () => {
  it("parses a webhook secret and normalises the trailing slash", () => {
    expect(
      parseWebhookSecret(
        JSON.stringify({ webhookUrl: `https://acme.bitrix24.com/rest/1/${CODE}`, clientId: "c1" }),
        strict,
      ),
    ).toEqual({ restBase: `https://acme.bitrix24.com/rest/1/${CODE}/`, clientId: "c1" });
  });

  it("ignores extra keys so one secret can carry notes", () => {
    expect(
      parseWebhookSecret(
        JSON.stringify({ webhookUrl: `https://a.example/rest/1/${CODE}/`, clientId: "c1", note: "x" }),
        strict,
      ).restBase,
    ).toBe(`https://a.example/rest/1/${CODE}/`);
  });

  it("requires the bot's clientId, and says what it is and where it comes from", () => {
    const error = failure(JSON.stringify({ webhookUrl: `https://a.example/rest/1/${CODE}/` }));
    expect(error.code).toBe("PORTAL_MISCONFIGURED");
    expect(error.details.detail).toContain('no "clientId"');
    expect(error.details.detail).toContain("imbot.register");
    expect(error.details.detail).not.toContain(CODE);
    expect(
      failure(JSON.stringify({ webhookUrl: `https://a.example/rest/1/${CODE}/`, clientId: "" })).code,
    ).toBe("PORTAL_MISCONFIGURED");
  });

  it("still accepts a secret with the old botId (which Bitrix24 has no parameter for) and marks it", () => {
    const parsed = parseWebhookSecret(
      JSON.stringify({ webhookUrl: `https://a.example/rest/1/${CODE}/`, clientId: "c1", botId: 7 }),
      strict,
    );
    expect(parsed).toEqual({
      restBase: `https://a.example/rest/1/${CODE}/`,
      clientId: "c1",
      obsoleteBotId: true,
    });
  });

  it.each([
    ["not JSON", `https://a.example/rest/1/${CODE}/`],
    ["the placeholder", JSON.stringify({ webhookUrl: "REPLACE_ME", clientId: "c1" })],
    ["plain http", JSON.stringify({ webhookUrl: `http://a.example/rest/1/${CODE}/`, clientId: "c1" })],
    ["a wrong path", JSON.stringify({ webhookUrl: `https://a.example/api/1/${CODE}/`, clientId: "c1" })],
    [
      "a method in the path",
      JSON.stringify({ webhookUrl: `https://a.example/rest/1/${CODE}/profile`, clientId: "c1" }),
    ],
    [
      "a query",
      JSON.stringify({ webhookUrl: `https://a.example/rest/1/${CODE}/?x=${CODE}`, clientId: "c1" }),
    ],
    [
      "user info",
      JSON.stringify({ webhookUrl: `https://u:${CODE}@a.example/rest/1/${CODE}/`, clientId: "c1" }),
    ],
    ["a bad clientId", JSON.stringify({ webhookUrl: `https://a.example/rest/1/${CODE}/`, clientId: 7 })],
    ["no webhookUrl", JSON.stringify({ url: `https://a.example/rest/1/${CODE}/`, clientId: "c1" })],
    ["an array", JSON.stringify([`https://a.example/rest/1/${CODE}/`])],
  ])("rejects %s with PORTAL_MISCONFIGURED and never echoes it", (_name, raw) => {
    const error = failure(raw);
    expect(error.code).toBe("PORTAL_MISCONFIGURED");
    // Each case fails for its own reason, not for the clientId every case but one carries.
    if (raw.includes('"clientId":"c1"')) expect(error.details.detail).not.toContain('no "clientId"');
    expect(error.status).toBe(502);
    expect(JSON.stringify({ message: error.message, details: error.details })).not.toContain(CODE);
  });

  it("allows plain http only on loopback and only when enabled", () => {
    const loopback = JSON.stringify({ webhookUrl: `http://127.0.0.1:8080/rest/1/${CODE}/`, clientId: "c1" });
    expect(parseWebhookSecret(loopback, local).restBase).toBe(`http://127.0.0.1:8080/rest/1/${CODE}/`);
    expect(failure(loopback, strict).code).toBe("PORTAL_MISCONFIGURED");
    expect(
      failure(JSON.stringify({ webhookUrl: `http://10.0.0.5/rest/1/${CODE}/`, clientId: "c1" }), local).code,
    ).toBe("PORTAL_MISCONFIGURED");
  });
});
