import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { SERVICE_NAME } from "./logger.ts";

/**
 * CloudWatch metrics in Embedded Metric Format: one EMF line per invocation, which CloudWatch turns into
 * metrics without any API call. A Metrics instance per invocation, because Powertools keeps stored
 * metrics in the instance and one environment may serve concurrent invocations.
 */
export const METRICS_NAMESPACE = process.env.POWERTOOLS_METRICS_NAMESPACE ?? "B24Transfer";

export interface InvocationMetrics {
  source: string;
  portal: string | undefined;
  coldStart: boolean;
  succeeded: number;
  /** Failed transfers by problem code. */
  failed: Record<string, number>;
  /** Bitrix24 calls beyond the first. */
  retries: number;
  fallbacksUsed: number;
  messagesNotSent: number;
  durationMs: number;
  replayed: boolean;
}

export function publishMetrics(invocation: InvocationMetrics): void {
  const metrics = newMetrics();
  metrics.addDimensions({ portal: invocation.portal ?? "none", source: invocation.source });
  if (invocation.succeeded > 0)
    metrics.addMetric("TransfersSucceeded", MetricUnit.Count, invocation.succeeded);
  if (invocation.retries > 0) metrics.addMetric("Bitrix24Retries", MetricUnit.Count, invocation.retries);
  if (invocation.fallbacksUsed > 0)
    metrics.addMetric("FallbacksUsed", MetricUnit.Count, invocation.fallbacksUsed);
  if (invocation.messagesNotSent > 0)
    metrics.addMetric("MessagesNotSent", MetricUnit.Count, invocation.messagesNotSent);
  if (invocation.replayed) metrics.addMetric("IdempotentReplays", MetricUnit.Count, 1);
  if (invocation.coldStart) metrics.addMetric("ColdStart", MetricUnit.Count, 1);
  metrics.addMetric("InvocationDuration", MetricUnit.Milliseconds, invocation.durationMs);
  metrics.publishStoredMetrics();
  // Failures get the code as a dimension of their own, so alarms and the dashboard can split by it.
  for (const [code, count] of Object.entries(invocation.failed)) {
    const failure = newMetrics();
    failure.addDimensions({ portal: invocation.portal ?? "none", code });
    failure.addMetric("TransfersFailed", MetricUnit.Count, count);
    failure.publishStoredMetrics();
  }
}

/** A portal answered with its new address (a renamed portal): someone should update its secret. */
export function publishPortalMoved(portal: string): void {
  const metrics = newMetrics();
  metrics.addDimensions({ portal });
  metrics.addMetric("PortalMoved", MetricUnit.Count, 1);
  metrics.publishStoredMetrics();
}

const newMetrics = () => new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });
