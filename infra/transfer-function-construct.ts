import { Duration, Stack } from "aws-cdk-lib";
import {
  ParamsAndSecretsLayerVersion,
  ParamsAndSecretsLogLevel,
  ParamsAndSecretsVersions,
} from "aws-cdk-lib/aws-lambda";
import { SqsDestination } from "aws-cdk-lib/aws-lambda-destinations";
import type { RetentionDays } from "aws-cdk-lib/aws-logs";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { TRANSFER_SERVICE_NAME } from "../lambda/names.ts";
import type { IdempotencyTable } from "./idempotency-table-construct.ts";
import { NodeFunction } from "./node-function-construct.ts";
import type { PortalSecrets } from "./portal-secrets-construct.ts";

/**
 * The HTTP API's integration limit is 30 s. The function sets its Bitrix24 deadline to the remaining
 * time minus 1 s, so 28 s bounds the worst retry sequence at 27 s and the function still answers
 * (with a 504 problem document) before API Gateway gives up with its own bare 503.
 */
export const TRANSFER_TIMEOUT = Duration.seconds(28);

/**
 * A scheduled transfer retried much later than planned would take the chat away from whoever picked
 * it up in the meantime; after this age the event goes to the failure queue instead.
 */
export const MAX_EVENT_AGE = Duration.minutes(15);

export interface TransferFunctionProps {
  portalSecrets: PortalSecrets;
  defaultPortal: string;
  secretCacheTtlSeconds: number;
  logRetention: RetentionDays;
  logLevel: string;
  reservedConcurrency?: number;
  failureQueue: IQueue;
  /** The secret whose value signs parked items (FAILURE_SIGNING_SECRET). */
  failureSigningSecretArn: string;
  idempotencyTable: IdempotencyTable;
  tracing: boolean;
  /** Read secrets through the AWS Parameters and Secrets Lambda Extension (the SDK stays the fallback). */
  secretsExtension: boolean;
  /** "escape": BBCode in messages is shown as text (MESSAGE_BBCODE). */
  messageBbcode?: "keep" | "escape";
  /** Client name → the portals it may use (CLIENT_PORTALS). */
  clientPortals?: Readonly<Record<string, readonly string[]>>;
  /** Domains an on-premise portal may move to (PORTAL_MOVE_DOMAINS). */
  portalMoveDomains?: readonly string[];
  /** Provisioned concurrency on the `live` alias. */
  provisionedConcurrency?: number | undefined;
}

/**
 * The transfer function (lambda/index.ts). It may read exactly the portal secrets, write to the failure
 * queue and use the idempotency table, nothing else.
 */
export class TransferFunction extends Construct {
  readonly handler: NodeFunction;

  constructor(scope: Construct, id: string, props: TransferFunctionProps) {
    super(scope, id);
    this.handler = new NodeFunction(this, "Transfer", {
      bundle: "transfer",
      description: "b24-transfer: hands a Bitrix24 Open Lines chat to an operator or queue",
      // Mostly waiting on Bitrix24, but CPU scales with memory and shortens cold starts and TLS setup.
      memorySize: 512,
      timeout: TRANSFER_TIMEOUT,
      logRetention: props.logRetention,
      reservedConcurrentExecutions: props.reservedConcurrency,
      provisionedConcurrency: props.provisionedConcurrency,
      tracing: props.tracing,
      paramsAndSecrets: props.secretsExtension ? secretsExtension(props.secretCacheTtlSeconds) : undefined,
      environment: {
        PORTALS: Stack.of(this).toJsonString(props.portalSecrets.secretIds()),
        DEFAULT_PORTAL: props.defaultPortal,
        SECRET_CACHE_TTL_SECONDS: String(props.secretCacheTtlSeconds),
        POWERTOOLS_SERVICE_NAME: TRANSFER_SERVICE_NAME,
        POWERTOOLS_LOG_LEVEL: props.logLevel,
        // Asynchronous items that fail for good are parked here one by one, so the items of an event
        // that succeeded are not retried with them.
        FAILURE_QUEUE_URL: props.failureQueue.queueUrl,
        FAILURE_SIGNING_SECRET: props.failureSigningSecretArn,
        IDEMPOTENCY_TABLE: props.idempotencyTable.table.tableName,
        // Only these portals may hold OAuth tokens: only their secrets are writable (see grantTokenRotation).
        OAUTH_PORTALS: JSON.stringify(props.portalSecrets.oauthPortals()),
        ...(props.messageBbcode === "escape" ? { MESSAGE_BBCODE: "escape" } : {}),
        ...(props.clientPortals && Object.keys(props.clientPortals).length > 0
          ? { CLIENT_PORTALS: JSON.stringify(props.clientPortals) }
          : {}),
        ...(props.portalMoveDomains?.length
          ? { PORTAL_MOVE_DOMAINS: JSON.stringify(props.portalMoveDomains) }
          : {}),
      },
    });
    props.idempotencyTable.grantIdempotencyAccess(this.handler.function);
    props.portalSecrets.grantRead(this.handler.function);
    props.portalSecrets.grantTokenRotation(this.handler.function);
    props.failureQueue.grantSendMessages(this.handler.function);
    // On the alias, which is what EventBridge and Scheduler invoke: a function's own setting covers
    // only unqualified ($LATEST) invocations.
    this.handler.alias.configureAsyncInvoke({
      retryAttempts: 2,
      maxEventAge: MAX_EVENT_AGE,
      onFailure: new SqsDestination(props.failureQueue),
    });
  }
}

/**
 * The AWS-managed extension layer. Its cache may not outlive the function's own (at most 300 s anyway):
 * then a value it serves is never older than one the function would still hold itself.
 */
function secretsExtension(secretCacheTtlSeconds: number): ParamsAndSecretsLayerVersion {
  return ParamsAndSecretsLayerVersion.fromVersion(ParamsAndSecretsVersions.V1_0_103, {
    cacheEnabled: secretCacheTtlSeconds > 0,
    secretsManagerTtl: Duration.seconds(Math.min(secretCacheTtlSeconds, 300)),
    logLevel: ParamsAndSecretsLogLevel.WARN,
  });
}
