/**
 * `npm start`: the real Lambda bundle served on http://127.0.0.1:3000 as API Gateway would call it.
 * Bitrix24 is the built-in simulator unless B24_WEBHOOK_URL names a real portal; Secrets Manager is a
 * loopback stand-in, so no AWS account or credentials are needed.
 */
import { startLocalApi } from "./local-api.ts";
import { type LocalEnvironment, LocalSettingError, startLocalEnvironment } from "./local-environment.ts";
import { DEMO_BOT } from "./simulator/index.ts";

const HELP = `usage: npm start

Serves the function on http://127.0.0.1:3000 (POST /transfers) against the built-in Bitrix24 simulator.
  PORT=3001                  another port (0: any free one)
  B24_WEBHOOK_URL=https://<portal>/rest/<user>/<code>/
                             transfer on a real portal instead (check it first: npm run doctor)
  B24_CLIENT_ID=<CLIENT_ID>  the CLIENT_ID the chat bot was registered with (imbot.register)
  POWERTOOLS_METRICS_DISABLED=false   also print the CloudWatch metrics documents`;

if (process.argv.includes("--help") || process.argv.includes("-h")) {
  console.log(HELP);
  process.exit(0);
}

const port = Number(process.env.PORT ?? 3000);

let local: LocalEnvironment;
try {
  local = await startLocalEnvironment();
} catch (error) {
  if (!(error instanceof LocalSettingError)) throw error;
  console.error(`npm start: ${error.message}`);
  process.exit(2);
}
const { simulator } = local;
let api: Awaited<ReturnType<typeof startLocalApi>>;
try {
  api = await startLocalApi(local.handler, { port });
} catch (error) {
  if ((error as NodeJS.ErrnoException).code !== "EADDRINUSE") throw error;
  console.error(
    `npm start: port ${port} is taken (another npm start?). Choose another: PORT=${port + 1} npm start`,
  );
  await local.close();
  process.exit(2);
}

const example = simulator ? '{"chatId":112,"operatorId":12}' : '{"chatId":<CHAT_ID>,"operatorId":<USER_ID>}';
console.log(`
b24-transfer is listening on ${api.url}, transferring on ${local.portalDescription}.

Try it:
  curl -sS -X POST ${api.url}/transfers -H 'content-type: application/json' -d '${example}'
${
  simulator
    ? `\nThe simulator has chats 112-120 held by bot 7 (which its webhook registered with CLIENT_ID "${DEMO_BOT.clientId}"),
chat 121 answered by operator 12, chat 122 closed (a transfer reopens it, as Bitrix24 does), chat 123 waiting in
queue 4; operators 12, 14 and 13 (inactive); queues 3, 4 and 5 (inactive, yet accepted, as by Bitrix24).
Each transfer it performs is printed below as "ledger: …".
Check the simulator's webhook as you would a portal's:
  B24_WEBHOOK_URL=${simulator.webhookUrl()} B24_CLIENT_ID=${DEMO_BOT.clientId} npm run doctor\n`
    : ""
}
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
