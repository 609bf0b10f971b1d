/**
 * `npm start`: the real Lambda bundle served on http://127.0.0.1:3000 as API Gateway would call it.
 * Bitrix24 is the built-in simulator unless B24_WEBHOOK_URL names a real portal; Secrets Manager is a
 * loopback stand-in, so no AWS account or credentials are needed.
 */
import { startLocalApi } from "./local-api.ts";
import { type LocalAuthorizer, startLocalAuthorizer } from "./local-authorizer.ts";
import { type LocalEnvironment, LocalSettingError, startLocalEnvironment } from "./local-environment.ts";
import { DEMO_BOT } from "./simulator/index.ts";

const HELP = `usage: npm start [-- --token-auth]

Serves the function on http://127.0.0.1:3000 (POST /transfers) against the built-in Bitrix24 simulator.
  --token-auth               put the real token authorizer in front, as deployed with "authorization":
                             "token": it prints a test token; requests without it get 401 or 403
  PORT=3001                  another port (0: any free one)
  B24_WEBHOOK_URL=https://<portal>/rest/<user>/<code>/
                             transfer on a real portal instead (check it first: npm run doctor)
  B24_CLIENT_ID=<CLIENT_ID>  the CLIENT_ID the chat bot was registered with (imbot.register)
  POWERTOOLS_METRICS_DISABLED=false   also print the CloudWatch metrics documents`;

const args = process.argv.slice(2);
if (args.includes("--help") || args.includes("-h")) {
  console.log(HELP);
  process.exit(0);
}
const unknown = args.find((arg) => arg !== "--token-auth");
if (unknown !== undefined) usageError(`unknown option ${unknown}`);
const tokenAuth = args.includes("--token-auth");

const port = parsePort(process.env.PORT);

let local: LocalEnvironment;
try {
  local = await startLocalEnvironment();
} catch (error) {
  if (!(error instanceof LocalSettingError)) throw error;
  console.error(`npm start: ${error.message}`);
  process.exit(2);
}
const { simulator } = local;
const authorizer: LocalAuthorizer | undefined = tokenAuth ? await startLocalAuthorizer(local.aws) : undefined;
let api: Awaited<ReturnType<typeof startLocalApi>>;
try {
  api = await startLocalApi(local.handler, { port, authorizer });
} catch (error) {
  if ((error as NodeJS.ErrnoException).code !== "EADDRINUSE") throw error;
  console.error(
    `npm start: port ${port} is taken (another npm start?). Choose another: PORT=${port + 1} npm start`,
  );
  await local.close();
  process.exit(2);
}

const example = simulator ? '{"chatId":112,"operatorId":12}' : '{"chatId":<CHAT_ID>,"operatorId":<USER_ID>}';
const bearer = authorizer ? ` -H 'authorization: Bearer ${authorizer.token}'` : "";
console.log(`
b24-transfer is listening on ${api.url}, transferring on ${local.portalDescription}.
${
  authorizer
    ? `\nToken authentication is on (the real authorizer): client "${authorizer.client}" has the test token
  ${authorizer.token}
valid until npm start stops. Without it the answer is 401, with another token 403.\n`
    : ""
}
Try it:
  curl -sS -X POST ${api.url}/transfers${bearer} -H 'content-type: application/json' -d '${example}'
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

function usageError(message: string): never {
  console.error(`npm start: ${message}\n\n${HELP}`);
  process.exit(2);
}

/** A clear refusal instead of a stack trace from listen(). */
function parsePort(raw: string | undefined): number {
  if (raw === undefined || raw === "") return 3000;
  if (!/^\d{1,5}$/.test(raw) || Number(raw) > 65535) {
    console.error(`npm start: PORT must be a port number from 0 to 65535 (0: any free one), not "${raw}"`);
    process.exit(2);
  }
  return Number(raw);
}
