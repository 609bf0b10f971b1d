import { createHash, createHmac } from "node:crypto";
import { exchange } from "../../lambda/adapters/http-exchange.ts";

/**
 * PROPOSAL, measured by the benchmark only (bench/variants): a drop-in for lambda/adapters/secrets-manager.ts
 * that reads a secret with one SigV4-signed POST instead of the AWS SDK. GetSecretValue is a single JSON
 * call; the SDK adds ~0.3 MB of code to load and a first-call set-up (middleware stack, endpoint rules,
 * credential chain, config files) that a cold start pays before Bitrix24 is even called.
 *
 * Only the read moves off the SDK: the writes (OAuth portals rotating tokens, lambda/adapters/secret-versions.ts)
 * keep it, loaded on first use through bench/variants/lazy-secrets-manager.ts, so the SDK leaves the code
 * every cold start loads.
 *
 * Credentials come from the environment, which is where Lambda puts them (AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN); the endpoint honours AWS_ENDPOINT_URL_SECRETS_MANAGER like
 * the SDK. Not handled (the SDK would): other credential providers, retries on throttling, FIPS or
 * dual-stack endpoints.
 */
export interface SecretValue {
  value: string;
  versionId: string | undefined;
}

export class SecretFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SecretFormatError";
  }
}

const sha256 = (data: string) => createHash("sha256").update(data, "utf8").digest("hex");
const hmac = (key: string | Buffer, data: string) => createHmac("sha256", key).update(data, "utf8").digest();

export async function readSecret(secretId: string): Promise<SecretValue> {
  const env = process.env;
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!region || !accessKeyId || !secretAccessKey) {
    throw Object.assign(new Error("no AWS region or credentials in the environment"), {
      name: "CredentialsProviderError",
    });
  }
  const endpoint = new URL(
    env.AWS_ENDPOINT_URL_SECRETS_MANAGER ??
      env.AWS_ENDPOINT_URL ??
      `https://secretsmanager.${region}.amazonaws.com`,
  );
  const body = JSON.stringify({ SecretId: secretId });
  const amzDate = new Date().toISOString().replace(/[-:]|\.\d{3}/g, "");
  const scope = `${amzDate.slice(0, 8)}/${region}/secretsmanager/aws4_request`;
  const headers: Record<string, string> = {
    "content-type": "application/x-amz-json-1.1",
    host: endpoint.host,
    "x-amz-date": amzDate,
    "x-amz-target": "secretsmanager.GetSecretValue",
  };
  if (env.AWS_SESSION_TOKEN) headers["x-amz-security-token"] = env.AWS_SESSION_TOKEN;
  const names = Object.keys(headers).sort();
  const signedHeaders = names.join(";");
  const canonical = [
    "POST",
    endpoint.pathname || "/",
    "",
    names.map((name) => `${name}:${headers[name]}\n`).join(""),
    signedHeaders,
    sha256(body),
  ].join("\n");
  let key = hmac(`AWS4${secretAccessKey}`, amzDate.slice(0, 8));
  for (const part of [region, "secretsmanager", "aws4_request"]) key = hmac(key, part);
  const signature = hmac(key, ["AWS4-HMAC-SHA256", amzDate, scope, sha256(canonical)].join("\n")).toString(
    "hex",
  );
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  delete headers.host;

  // The same HTTP primitive as the deployed Bitrix24 client, so the variant differs only in the SDK.
  const response = await exchange({
    method: "POST",
    url: endpoint,
    headers,
    body,
    timeoutMs: 5000,
    maxBytes: 1 << 20,
  });
  let answer: Record<string, unknown> = {};
  try {
    answer = JSON.parse(response.text) as Record<string, unknown>;
  } catch {}
  if (response.status !== 200) {
    // "__type": "ResourceNotFoundException" or "com.amazonaws…#ResourceNotFoundException", as the SDK reads it.
    const type = typeof answer.__type === "string" ? (answer.__type.split("#").pop() ?? "") : "";
    throw Object.assign(new Error(`Secrets Manager answered HTTP ${response.status}`), {
      name: /^[A-Za-z]+$/.test(type) ? type : "UnknownError",
    });
  }
  if (typeof answer.SecretString !== "string") throw new SecretFormatError("the secret has no string value");
  return {
    value: answer.SecretString,
    versionId: typeof answer.VersionId === "string" ? answer.VersionId : undefined,
  };
}
