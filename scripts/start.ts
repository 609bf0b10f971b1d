/**
 * `npm start`: the real Lambda bundle served on http://127.0.0.1:3000 as API Gateway would call it.
 * Bitrix24 is the built-in simulator unless B24_WEBHOOK_URL names a real portal; Secrets Manager is a
 * loopback stand-in, so no AWS account or credentials are needed.
 */
import { pathToFileURL } from "node:url";
import { bundleLambda, LAMBDA_ENTRIES, PROJECT_ROOT } from "../infra/bundling.ts";
import { type LambdaHandler, startLocalApi } from "./local-api.ts";
import { startLocalAws } from "./local-aws.ts";
import { startDynamo } from "./local-dynamodb.ts";
import { startSimulator } from "./simulator/index.ts";

const port = Number(process.env.PORT ?? 3000);
const realWebhook = process.env.B24_WEBHOOK_URL || undefined;

// The test suite builds once up front and sets SKIP_BUILD, so no test reads a half-written bundle.
const outdir =
  process.env.SKIP_BUILD === "true" ? LAMBDA_ENTRIES.transfer.outdir : await bundleLambda("transfer");
const simulator = realWebhook ? undefined : await startSimulator();
const aws = await startLocalAws();
const secretId = "b24-transfer/local";
aws.put(
  secretId,
  JSON.stringify({
    webhookUrl: realWebhook ?? simulator?.webhookUrl(),
    ...(process.env.B24_BOT_ID ? { botId: Number(process.env.B24_BOT_ID) } : {}),
    ...(process.env.B24_CLIENT_ID ? { clientId: process.env.B24_CLIENT_ID } : {}),
  }),
);
// Idempotency-Key works locally too: dynalite is a real DynamoDB implementation in this process.
const dynamo = await startDynamo("b24-transfer-idempotency");
Object.assign(process.env, aws.env(), {
  AWS_ENDPOINT_URL_DYNAMODB: dynamo.url,
  IDEMPOTENCY_TABLE: "b24-transfer-idempotency",
  FAILURE_QUEUE_URL: aws.queueUrl,
  PORTALS: JSON.stringify({ local: secretId }),
  DEFAULT_PORTAL: "local",
  ALLOW_HTTP_LOOPBACK: simulator ? "true" : "false",
});

const { handler } = (await import(pathToFileURL(`${PROJECT_ROOT}/${outdir}/index.mjs`).href)) as {
  handler: LambdaHandler;
};
const api = await startLocalApi(handler, { port });

const portal = simulator
  ? `the built-in Bitrix24 simulator (${simulator.url})`
  : `the portal at ${new URL(realWebhook as string).host}`;
const example = simulator ? '{"chatId":112,"operatorId":12}' : '{"chatId":<CHAT_ID>,"operatorId":<USER_ID>}';
console.log(`
b24-transfer is listening on ${api.url}, transferring on ${portal}.

Try it:
  curl -sS -X POST ${api.url}/transfers -H 'content-type: application/json' -d '${example}'
${simulator ? `\nThe simulator has chat 112 (held by bot 7), operators 12 and 13 (inactive) and queues 3 and 4.\nEach transfer it performs is printed below as "ledger: …".` : ""}
Press Ctrl-C to stop.
`);
simulator?.onTransfer((record) => console.log(`ledger: ${JSON.stringify(record)}`));

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await Promise.all([api.close(), aws.close(), dynamo.close(), simulator?.close()]);
  console.log("stopped");
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
