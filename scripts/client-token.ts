import { randomBytes } from "node:crypto";
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { CLIENT_NAME_PATTERN } from "../lambda/auth/client-tokens.ts";
import { hashToken } from "../lambda/auth/token-hash.ts";

/**
 * `npm run client-token -- <client>`: mints a bearer token for one API client and prints the entry to
 * add to the client-token secret. Only the hash is stored in AWS; the token is shown once, here.
 */

// The prefix lets secret scanners recognise a leaked token; 32 random bytes make guessing hopeless.
const TOKEN_PREFIX = "b24t_";

export interface MintedClientToken {
  client: string;
  token: string;
  hash: string;
  /** The `"<client>": "<hash>"` member to add to the client-token secret's JSON object. */
  secretEntry: string;
}

export function mintClientToken(client: string): MintedClientToken {
  if (!CLIENT_NAME_PATTERN.test(client)) {
    throw new Error(
      `invalid client name "${client}": use 1-64 letters, digits, dots, underscores or hyphens, starting with a letter or digit`,
    );
  }
  const token = TOKEN_PREFIX + randomBytes(32).toString("base64url");
  const hash = hashToken(token);
  return { client, token, hash, secretEntry: `${JSON.stringify(client)}: ${JSON.stringify(hash)}` };
}

function main(args: string[]): number {
  const [client, ...rest] = args;
  if (client === "--help" || client === "-h") {
    console.log(`usage: npm run client-token -- <client-name>

Mints an API token for one client: prints the token (shown once) and the hash entry to add to
the client-token secret (stack output ClientTokensSecretName).`);
    return 0;
  }
  if (client === undefined || rest.length > 0 || client.startsWith("-")) {
    console.error("usage: npm run client-token -- <client-name>");
    return 2;
  }
  let minted: MintedClientToken;
  try {
    minted = mintClientToken(client);
  } catch (error) {
    console.error((error as Error).message);
    return 2;
  }
  console.log(`Token for ${minted.client} (give it to the client; it is not stored anywhere and is shown only once):

  ${minted.token}

Add this entry to the JSON object in the client-token secret (stack output ClientTokensSecretName),
and make sure "${minted.client}" is listed in the "clients" setting:

  ${minted.secretEntry}
`);
  return 0;
}

const invokedDirectly =
  process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) process.exitCode = main(process.argv.slice(2));
