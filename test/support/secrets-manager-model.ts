import { randomUUID } from "node:crypto";
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";

/**
 * A stateful Secrets Manager for tests, behind the real SDK client (aws-sdk-client-mock): secrets with
 * versions and staging labels as the API documents them. PutSecretValue is idempotent per
 * ClientRequestToken and attaches AWSCURRENT unless told otherwise; moving AWSCURRENT moves AWSPREVIOUS
 * to the version it left; UpdateSecretVersionStage fails when RemoveFromVersionId does not hold the
 * label (the compare of compare-and-swap). Every operation yields to the event loop first, so
 * concurrent callers interleave as they would over the network.
 */

type Operation = "GetSecretValue" | "PutSecretValue" | "UpdateSecretVersionStage" | "DescribeSecret";

interface Version {
  value: string;
  stages: Set<string>;
}

interface Secret {
  versions: Map<string, Version>;
  /** Every version AWSCURRENT was moved to after the secret was created, in order. */
  promotions: string[];
}

export function awsError(name: string, message = name): Error {
  return Object.assign(new Error(message), { name, $fault: "client", $metadata: { httpStatusCode: 400 } });
}

export class SecretsManagerModel {
  readonly #secrets = new Map<string, Secret>();
  readonly #failures = new Map<Operation, Error[]>();
  readonly #lostAnswers = new Map<Operation, number>();
  readonly #before = new Map<Operation, (() => void)[]>();
  /** Calls per operation, failed ones included. */
  readonly calls: Record<Operation, number> = {
    GetSecretValue: 0,
    PutSecretValue: 0,
    UpdateSecretVersionStage: 0,
    DescribeSecret: 0,
  };

  /** Answers the real SDK client's calls from this model until `restore()`. */
  attach() {
    const stub = mockClient(SecretsManagerClient);
    stub.on(GetSecretValueCommand).callsFake((input) => this.#run("GetSecretValue", () => this.#get(input)));
    stub.on(PutSecretValueCommand).callsFake((input) => this.#run("PutSecretValue", () => this.#put(input)));
    stub
      .on(UpdateSecretVersionStageCommand)
      .callsFake((input) => this.#run("UpdateSecretVersionStage", () => this.#updateStage(input)));
    stub
      .on(DescribeSecretCommand)
      .callsFake((input) => this.#run("DescribeSecret", () => this.#describe(input)));
    return stub;
  }

  /** Creates the secret (or a new current version of it); returns the version id. */
  seed(secretId: string, value: string): string {
    const versionId = randomUUID();
    const secret = this.#secrets.get(secretId) ?? { versions: new Map(), promotions: [] };
    this.#secrets.set(secretId, secret);
    this.#putVersion(secret, versionId, value, ["AWSCURRENT"]);
    return versionId;
  }

  current(secretId: string): { versionId: string; value: string } {
    const secret = this.#require(secretId);
    for (const [versionId, version] of secret.versions) {
      if (version.stages.has("AWSCURRENT")) return { versionId, value: version.value };
    }
    throw new Error("no current version");
  }

  /** Versions AWSCURRENT was moved to by UpdateSecretVersionStage or PutSecretValue after seeding. */
  promotions(secretId: string): readonly string[] {
    return this.#require(secretId).promotions;
  }

  versionCount(secretId: string): number {
    return this.#require(secretId).versions.size;
  }

  stagesOf(secretId: string, versionId: string): string[] {
    return [...(this.#require(secretId).versions.get(versionId)?.stages ?? [])];
  }

  /** The next `times` calls of `operation` fail with `error` (default a 500 InternalServiceError). */
  failNext(operation: Operation, times = 1, error: Error = awsError("InternalServiceError")): void {
    const queue = this.#failures.get(operation) ?? [];
    for (let i = 0; i < times; i++) queue.push(error);
    this.#failures.set(operation, queue);
  }

  /** The next `times` calls of `operation` take effect, but their answer is lost (a timeout). */
  loseAnswerOfNext(operation: Operation, times = 1): void {
    this.#lostAnswers.set(operation, (this.#lostAnswers.get(operation) ?? 0) + times);
  }

  /** Runs `action` just before the next call of `operation` is applied (e.g. a competing writer). */
  beforeNext(operation: Operation, action: () => void): void {
    const queue = this.#before.get(operation) ?? [];
    queue.push(action);
    this.#before.set(operation, queue);
  }

  /** Forgets every secret, call count and injected failure. */
  reset(): void {
    this.#secrets.clear();
    this.clearFailures();
    for (const operation of Object.keys(this.calls) as Operation[]) this.calls[operation] = 0;
  }

  clearFailures(): void {
    this.#failures.clear();
    this.#lostAnswers.clear();
    this.#before.clear();
  }

  async #run<T>(operation: Operation, apply: () => T): Promise<T> {
    this.calls[operation] += 1;
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 3));
    this.#before.get(operation)?.shift()?.();
    const failure = this.#failures.get(operation)?.shift();
    if (failure) throw failure;
    const result = apply();
    const lost = this.#lostAnswers.get(operation) ?? 0;
    if (lost > 0) {
      this.#lostAnswers.set(operation, lost - 1);
      throw awsError("TimeoutError", "socket hang up");
    }
    return result;
  }

  #require(secretId: string): Secret {
    const secret = this.#secrets.get(secretId);
    if (!secret)
      throw awsError("ResourceNotFoundException", "Secrets Manager can't find the specified secret.");
    return secret;
  }

  #get(input: { SecretId?: string; VersionId?: string; VersionStage?: string }) {
    const secretId = String(input.SecretId);
    const secret = this.#require(secretId);
    const stage = input.VersionStage ?? (input.VersionId ? undefined : "AWSCURRENT");
    for (const [versionId, version] of secret.versions) {
      if ((input.VersionId && versionId !== input.VersionId) || (stage && !version.stages.has(stage)))
        continue;
      return {
        ARN: arn(secretId),
        Name: secretId,
        VersionId: versionId,
        SecretString: version.value,
        VersionStages: [...version.stages],
      };
    }
    throw awsError("ResourceNotFoundException", "Secrets Manager can't find the specified secret value.");
  }

  #put(input: {
    SecretId?: string;
    SecretString?: string;
    ClientRequestToken?: string;
    VersionStages?: string[];
  }) {
    const secretId = String(input.SecretId);
    const secret = this.#require(secretId);
    const versionId = input.ClientRequestToken ?? randomUUID();
    const value = String(input.SecretString);
    const existing = secret.versions.get(versionId);
    if (existing) {
      if (existing.value !== value) {
        throw awsError("ResourceExistsException", "A version with this ClientRequestToken already exists.");
      }
    } else {
      this.#putVersion(secret, versionId, value, input.VersionStages ?? ["AWSCURRENT"]);
    }
    return {
      ARN: arn(secretId),
      Name: secretId,
      VersionId: versionId,
      VersionStages: [...(secret.versions.get(versionId)?.stages ?? [])],
    };
  }

  #updateStage(input: {
    SecretId?: string;
    VersionStage?: string;
    MoveToVersionId?: string;
    RemoveFromVersionId?: string;
  }) {
    const secretId = String(input.SecretId);
    const secret = this.#require(secretId);
    const label = String(input.VersionStage);
    const holder = [...secret.versions].find(([, version]) => version.stages.has(label))?.[0];
    if (input.RemoveFromVersionId !== undefined && input.RemoveFromVersionId !== holder) {
      throw awsError(
        "InvalidParameterException",
        `The staging label ${label} is not attached to version ${input.RemoveFromVersionId}.`,
      );
    }
    if (input.MoveToVersionId === undefined) {
      if (holder) secret.versions.get(holder)?.stages.delete(label);
      return { ARN: arn(secretId), Name: secretId };
    }
    if (!secret.versions.has(input.MoveToVersionId)) {
      throw awsError("ResourceNotFoundException", "Secrets Manager can't find the specified secret version.");
    }
    if (holder !== undefined && holder !== input.MoveToVersionId && input.RemoveFromVersionId === undefined) {
      throw awsError(
        "InvalidParameterException",
        `The staging label ${label} is attached to another version.`,
      );
    }
    this.#attach(secret, input.MoveToVersionId, label);
    return { ARN: arn(secretId), Name: secretId };
  }

  #describe(input: { SecretId?: string }) {
    const secretId = String(input.SecretId);
    const secret = this.#require(secretId);
    const VersionIdsToStages: Record<string, string[]> = {};
    for (const [versionId, version] of secret.versions) {
      if (version.stages.size > 0) VersionIdsToStages[versionId] = [...version.stages];
    }
    return { ARN: arn(secretId), Name: secretId, VersionIdsToStages };
  }

  #putVersion(secret: Secret, versionId: string, value: string, stages: readonly string[]): void {
    const isFirst = secret.versions.size === 0;
    secret.versions.set(versionId, { value, stages: new Set() });
    for (const stage of stages) this.#attach(secret, versionId, stage);
    if (isFirst) secret.promotions.length = 0;
  }

  /** A label is on one version at a time; AWSPREVIOUS follows AWSCURRENT's previous holder. */
  #attach(secret: Secret, versionId: string, label: string): void {
    let previous: string | undefined;
    for (const [id, version] of secret.versions) {
      if (id !== versionId && version.stages.delete(label)) previous = id;
    }
    secret.versions.get(versionId)?.stages.add(label);
    if (label === "AWSCURRENT" && previous !== undefined) {
      secret.promotions.push(versionId);
      this.#attach(secret, previous, "AWSPREVIOUS");
    }
  }
}

function arn(secretId: string): string {
  return `arn:aws:secretsmanager:eu-central-1:123456789012:secret:${secretId}-AbCdEf`;
}
