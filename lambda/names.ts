/*
 * Names the function and the stack must agree on. Constants only, no environment reads: the CDK app
 * imports them at synth, and a deployer's shell must never change what the dashboard looks at.
 */

/** The transfer function's service name: the `service` of its log lines and a dimension of its metrics. */
export const TRANSFER_SERVICE_NAME = "b24-transfer";
export const AUTHORIZER_SERVICE_NAME = "b24-transfer-authorizer";

/** The CloudWatch namespace of every metric the function publishes. */
export const METRICS_NAMESPACE = "B24Transfer";

/** The EventBridge detail-type of a transfer request. */
export const TRANSFER_DETAIL_TYPE = "Transfer Requested";

/** Metric names, as the function publishes them and the dashboard and alarms read them. */
export const METRIC = {
  transfersSucceeded: "TransfersSucceeded",
  transfersFailed: "TransfersFailed",
  bitrix24Retries: "Bitrix24Retries",
  idempotentReplays: "IdempotentReplays",
  coldStart: "ColdStart",
  invocationDuration: "InvocationDuration",
  fallbacksUsed: "FallbacksUsed",
  messagesNotSent: "MessagesNotSent",
  portalMoved: "PortalMoved",
  operatingTime: "Bitrix24OperatingTime",
  operatingShare: "Bitrix24OperatingShare",
  queryLimitHits: "Bitrix24QueryLimitHits",
} as const;
