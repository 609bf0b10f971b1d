/**
 * `npm start`: the real Lambda bundle served on http://127.0.0.1:3000 as API Gateway would call it.
 * Bitrix24 is the built-in simulator unless B24_WEBHOOK_URL names a real portal; Secrets Manager is a
 * loopback stand-in, so no AWS account or credentials are needed.
 */
import { startLocalApi } from "./local-api.ts";
import { LocalSettingError, startLocalEnvironment } from "./local-environment.ts";

const port = Number(process.env.PORT ?? 3000);

const local = await startLocalEnvironment().catch((error: unknown) => {
  if (!(error instanceof LocalSettingError)) throw error;
  console.error(`npm start: ${error.message}`);
  process.exit(2);
});
const { simulator } = local;
const api = await startLocalApi(local.handler, { port });

const example = simulator ? '{"chatId":112,"operatorId":12}' : '{"chatId":<CHAT_ID>,"operatorId":<USER_ID>}';
console.log(`
b24-transfer is listening on ${api.url}, transferring on ${local.portalDescription}.

Try it:
  curl -sS -X POST ${api.url}/transfers -H 'content-type: application/json' -d '${example}'
${simulator ? `\nThe simulator has chat 112 (held by bot 7, which its webhook registered with CLIENT_ID "b24-transfer-demo"), operators 12 and 13 (inactive) and queues 3 and 4.\nEach transfer it performs is printed below as "ledger: …".` : ""}
Press Ctrl-C to stop.
`);
simulator?.onTransfer((record) => console.log(`ledger: ${JSON.stringify(record)}`));

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await Promise.all([api.close(), local.close()]);
  console.log("stopped");
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
