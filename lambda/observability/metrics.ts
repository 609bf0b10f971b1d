/**
 * CloudWatch metrics in Embedded Metric Format: one EMF line per invocation, which CloudWatch turns into
 * metrics without any API call. A Metrics instance per invocation, because Powertools keeps stored
 * metrics in the instance and one environment may serve concurrent invocations.
 */
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { METRIC, METRICS_NAMESPACE } from "../names.ts";
import { operatingBudgetSeconds, takeBitrix24Usage } from "./bitrix24-usage.ts";
import { SERVICE_NAME } from "./logger.ts";

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
    metrics.addMetric(METRIC.transfersSucceeded, MetricUnit.Count, invocation.succeeded);
  if (invocation.retries > 0) metrics.addMetric(METRIC.bitrix24Retries, MetricUnit.Count, invocation.retries);
  if (invocation.fallbacksUsed > 0)
    metrics.addMetric(METRIC.fallbacksUsed, MetricUnit.Count, invocation.fallbacksUsed);
  if (invocation.messagesNotSent > 0)
    metrics.addMetric(METRIC.messagesNotSent, MetricUnit.Count, invocation.messagesNotSent);
  if (invocation.replayed) metrics.addMetric(METRIC.idempotentReplays, MetricUnit.Count, 1);
  if (invocation.coldStart) metrics.addMetric(METRIC.coldStart, MetricUnit.Count, 1);
  metrics.addMetric(METRIC.invocationDuration, MetricUnit.Milliseconds, invocation.durationMs);
  metrics.publishStoredMetrics();
  // Failures get the code as a dimension of their own, so alarms and the dashboard can split by it; the
  // second dimension set (code alone) lets one alarm cover every portal (OutcomeUnknown).
  for (const [code, count] of Object.entries(invocation.failed)) {
    const failure = newMetrics();
    failure.addDimensions({ portal: invocation.portal ?? "none", code });
    failure.addDimensions({ code });
    failure.addMetric(METRIC.transfersFailed, MetricUnit.Count, count);
    failure.publishStoredMetrics();
  }
  publishBitrix24Usage();
}

/**
 * Per portal and method for the dashboard, and once more without those dimensions (the highest share
 * and the hits of the invocation) for one alarm that covers every portal and method.
 */
function publishBitrix24Usage(): void {
  const usage = takeBitrix24Usage();
  if (usage.length === 0) return;
  let highestShare: number | undefined;
  let queryLimitHits = 0;
  const budget = operatingBudgetSeconds();
  for (const { portalHost, method, operatingSeconds, queryLimitHits: hits } of usage) {
    const perMethod = newMetrics();
    perMethod.addDimensions({ portalHost, method });
    if (operatingSeconds !== undefined) {
      const share = (100 * operatingSeconds) / budget;
      perMethod.addMetric(METRIC.operatingTime, MetricUnit.Seconds, operatingSeconds);
      perMethod.addMetric(METRIC.operatingShare, MetricUnit.Percent, share);
      highestShare = Math.max(highestShare ?? 0, share);
    }
    if (hits > 0) perMethod.addMetric(METRIC.queryLimitHits, MetricUnit.Count, hits);
    queryLimitHits += hits;
    if (operatingSeconds !== undefined || hits > 0) perMethod.publishStoredMetrics();
  }
  if (highestShare === undefined && queryLimitHits === 0) return;
  const overall = newMetrics();
  if (highestShare !== undefined) overall.addMetric(METRIC.operatingShare, MetricUnit.Percent, highestShare);
  if (queryLimitHits > 0) overall.addMetric(METRIC.queryLimitHits, MetricUnit.Count, queryLimitHits);
  overall.publishStoredMetrics();
}

/**
 * A portal answered with its new address (a renamed portal): someone should update its secret. Per
 * portal, and once more without it for the alarm (infra/alarms-construct.ts) that covers every portal.
 */
export function publishPortalMoved(portal: string): void {
  const perPortal = newMetrics();
  perPortal.addDimensions({ portal });
  perPortal.addMetric(METRIC.portalMoved, MetricUnit.Count, 1);
  perPortal.publishStoredMetrics();
  const overall = newMetrics();
  overall.addMetric(METRIC.portalMoved, MetricUnit.Count, 1);
  overall.publishStoredMetrics();
}

const newMetrics = () => new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });
