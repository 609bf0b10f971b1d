import { Duration, Stack } from "aws-cdk-lib";
import type { IHttpApi } from "aws-cdk-lib/aws-apigatewayv2";
import {
  Dashboard as CwDashboard,
  GraphWidget,
  MathExpression,
  Metric,
  TextWidget,
} from "aws-cdk-lib/aws-cloudwatch";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { METRIC, METRICS_NAMESPACE } from "../lambda/names.ts";

export interface DashboardProps {
  transferFunction: IFunction;
  authorizerFunction?: IFunction | undefined;
  api: IHttpApi;
  failureQueue: IQueue;
}

const PERIOD = Duration.minutes(5);

/**
 * One page for whoever is paged: are chats being transferred, which problem codes are failing and for
 * which portal, how slow Bitrix24 is, and whether anything is waiting in the failure queue.
 */
export class Dashboard extends Construct {
  readonly dashboard: CwDashboard;

  constructor(scope: Construct, id: string, props: DashboardProps) {
    super(scope, id);
    const { transferFunction, authorizerFunction, api, failureQueue } = props;
    const region = Stack.of(this).region;
    // SEARCH finds every portal/code combination the function has reported, without listing them here;
    // `total` sums them into one line, otherwise each combination is a line of its own.
    const search = (metric: string, dimensions: string, total?: string, statistic = "Sum") => {
      const found = `SEARCH('{${METRICS_NAMESPACE},${dimensions}} MetricName="${metric}"', '${statistic}', ${PERIOD.toSeconds()})`;
      return new MathExpression({
        expression: total ? `SUM(${found})` : found,
        label: total ?? "",
        period: PERIOD,
        searchRegion: region,
      });
    };

    this.dashboard = new CwDashboard(this, "Dashboard", {
      defaultInterval: Duration.hours(24),
      widgets: [
        [
          new TextWidget({
            markdown:
              "## b24-transfer\nTransfers, failures by problem code, Bitrix24 retries and the failure queue. Runbook: docs/operations.md.",
            width: 24,
            height: 2,
          }),
        ],
        [
          new GraphWidget({
            title: "Transfers",
            width: 12,
            left: [
              search(METRIC.transfersSucceeded, "portal,service,source", "succeeded"),
              search(METRIC.transfersFailed, "code,portal,service", "failed"),
            ],
          }),
          new GraphWidget({
            title: "Failed transfers by problem code and portal",
            width: 12,
            left: [search(METRIC.transfersFailed, "code,portal,service")],
          }),
        ],
        [
          new GraphWidget({
            title: "Bitrix24 retries and idempotent replays",
            width: 8,
            left: [
              search("Bitrix24Retries", "portal,service,source", "retries"),
              search("IdempotentReplays", "portal,service,source", "replays"),
            ],
          }),
          new GraphWidget({
            title: "Transfer function: duration (p50, p99) and cold starts",
            width: 8,
            left: [
              transferFunction.metricDuration({ statistic: "p50", period: PERIOD }),
              transferFunction.metricDuration({ statistic: "p99", period: PERIOD }),
            ],
            right: [search("ColdStart", "portal,service,source", "cold starts")],
          }),
          new GraphWidget({
            title: "Errors and throttles",
            width: 8,
            left: [
              transferFunction.metricErrors({ period: PERIOD, label: "transfer errors" }),
              transferFunction.metricThrottles({ period: PERIOD, label: "transfer throttles" }),
              ...(authorizerFunction
                ? [authorizerFunction.metricErrors({ period: PERIOD, label: "authorizer errors" })]
                : []),
            ],
          }),
        ],
        [
          new GraphWidget({
            title:
              "Bitrix24 operating time used, % of the budget (420 s per 10 min by default), by portal and method",
            width: 12,
            left: [search(METRIC.operatingShare, "method,portalHost,service", undefined, "Maximum")],
            leftYAxis: { min: 0, max: 100 },
          }),
          new GraphWidget({
            title: "Bitrix24 QUERY_LIMIT_EXCEEDED answers (retried), by portal and method",
            width: 12,
            left: [search(METRIC.queryLimitHits, "method,portalHost,service")],
          }),
        ],
        [
          new GraphWidget({
            title: "API: requests, 4xx, 5xx",
            width: 12,
            left: [
              api.metricCount({ period: PERIOD }),
              api.metricClientError({ period: PERIOD }),
              api.metricServerError({ period: PERIOD }),
            ],
            right: [api.metricLatency({ statistic: "p99", period: PERIOD })],
          }),
          new GraphWidget({
            title: "Failure queue: items waiting",
            width: 12,
            left: [
              failureQueue.metricApproximateNumberOfMessagesVisible({ statistic: "Maximum", period: PERIOD }),
            ],
            right: [
              new Metric({
                namespace: "AWS/SQS",
                metricName: "NumberOfMessagesSent",
                dimensionsMap: { QueueName: failureQueue.queueName },
                period: PERIOD,
                statistic: "Sum",
              }),
            ],
          }),
        ],
      ],
    });
  }
}
