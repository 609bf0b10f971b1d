import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { B24Hook } from "@bitrix24/b24jssdk";
import * as z from "zod";

/**
 * Baseline "official SDK": the naive handler's flow with the call made through Bitrix24's own
 * @bitrix24/b24jssdk (`B24Hook.fromWebhookUrl` + `actions.v2.call.make`), which brings its own retries
 * and a client-side rate limiter. The hook is kept per container while the webhook is unchanged, so its
 * limiter state survives between calls as the SDK intends.
 *
 * BENCH_SDK_UNLIMITED=true lifts that client-side limiter (burst 50, 2/s by default); the warm benchmark
 * sets it because the simulator's limit is off there too and per-call cost, not pacing, is measured.
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

const unlimited =
  process.env.BENCH_SDK_UNLIMITED === "true"
    ? {
        restrictionParams: {
          rateLimit: { burstLimit: 1_000_000, drainRate: 1_000_000, adaptiveEnabled: false },
          adaptiveConfig: { enabled: false, thresholdPercent: 100, coefficient: 0, maxDelay: 0 },
        },
      }
    : undefined;

let hook: { webhookUrl: string; b24: B24Hook } | undefined;

export async function handler(event: unknown): Promise<{ transferred: true; chatId: number }> {
  const body = (event as { body?: unknown } | null)?.body;
  const request = TransferRequest.parse(typeof body === "string" ? JSON.parse(body) : event);

  const secret = await secretsManager.send(new GetSecretValueCommand({ SecretId: process.env.SECRET_ID }));
  const { webhookUrl, clientId } = Secret.parse(JSON.parse(secret.SecretString ?? "{}"));
  if (hook?.webhookUrl !== webhookUrl)
    hook = { webhookUrl, b24: B24Hook.fromWebhookUrl(webhookUrl, unlimited) };

  const params: Record<string, unknown> = { CHAT_ID: request.chatId, LEAVE: request.leave ? "Y" : "N" };
  if (request.operatorId !== undefined) params.USER_ID = request.operatorId;
  else params.QUEUE_ID = request.queueId;
  // A webhook acts through the bot it registered with this CLIENT_ID (imopenlines botSessionTransfer).
  if (clientId !== undefined) params.CLIENT_ID = clientId;
  const response = await hook.b24.actions.v2.call.make<boolean>({
    method: "imopenlines.bot.session.transfer",
    params,
  });
  if (!response.isSuccess || response.getData()?.result !== true) {
    throw new Error(`transfer failed: ${response.getErrorMessages().join("; ")}`);
  }
  return { transferred: true, chatId: request.chatId };
}

export const createHandler = () => handler;
