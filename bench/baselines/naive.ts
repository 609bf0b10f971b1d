import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import * as z from "zod";

/**
 * Baseline "naive": the hand-written Lambda an integrator typically writes. Classic zod (imported the
 * way zod's own docs recommend, which tree-shakes best), the Secrets Manager client created once per
 * container as AWS advises, the secret read on every call (no cache), and one `fetch` to the webhook.
 * It validates, refuses anything but `result: true`, and accepts a direct invocation or an API Gateway
 * body, so it does the same job as ours minus retries, caching and structured problems.
 */
const secretsManager = new SecretsManagerClient({});

const TransferRequest = z
  .object({
    chatId: z.coerce.number().int().positive(),
    operatorId: z.coerce.number().int().positive().optional(),
    queueId: z.coerce.number().int().positive().optional(),
    leave: z.boolean().optional(),
  })
  .refine((request) => (request.operatorId === undefined) !== (request.queueId === undefined), {
    message: "give exactly one of operatorId or queueId",
  });

const Secret = z.object({ webhookUrl: z.url(), clientId: z.optional(z.string()) });

export async function handler(event: unknown): Promise<{ transferred: true; chatId: number }> {
  const body = (event as { body?: unknown } | null)?.body;
  const request = TransferRequest.parse(typeof body === "string" ? JSON.parse(body) : event);

  const secret = await secretsManager.send(new GetSecretValueCommand({ SecretId: process.env.SECRET_ID }));
  const { webhookUrl, clientId } = Secret.parse(JSON.parse(secret.SecretString ?? "{}"));

  const params: Record<string, unknown> = { CHAT_ID: request.chatId, LEAVE: request.leave ? "Y" : "N" };
  if (request.operatorId !== undefined) params.USER_ID = request.operatorId;
  else params.QUEUE_ID = request.queueId;
  // A webhook acts through the bot it registered with this CLIENT_ID (imopenlines botSessionTransfer).
  if (clientId !== undefined) params.CLIENT_ID = clientId;
  const response = await fetch(`${webhookUrl}imopenlines.bot.session.transfer.json`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(params),
  });
  const answer = (await response.json()) as { result?: unknown; error?: string };
  if (answer.result !== true) {
    throw new Error(`transfer failed: ${answer.error ?? `HTTP ${response.status}`}`);
  }
  return { transferred: true, chatId: request.chatId };
}

export const createHandler = () => handler;
