import { Duration } from "aws-cdk-lib";
import type { IHttpApi } from "aws-cdk-lib/aws-apigatewayv2";
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import { Topic } from "aws-cdk-lib/aws-sns";
import { EmailSubscription } from "aws-cdk-lib/aws-sns-subscriptions";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { METRIC, METRICS_NAMESPACE, TRANSFER_SERVICE_NAME } from "../lambda/names.ts";
import type { NodeFunction } from "./node-function-construct.ts";

export interface AlarmsProps {
  alarmEmail?: string;
  transfer: NodeFunction;
  authorizer?: NodeFunction | undefined;
  api: IHttpApi;
  failureQueue: IQueue;
  /** Share (%) of a Bitrix24 method's operating-time budget at which to alarm. */
  operatingTimeAlarmPercent: number;
}

const PERIOD = Duration.minutes(5);
/** Alarms that roll a deploy back must react within a canary's first minutes. */
const ROLLBACK_PERIOD = Duration.minutes(1);

interface AlarmOptions {
  threshold?: number;
  /** Stops and reverts the deploy of this function (SafeDeployment) while in ALARM. */
  rollback?: "transfer" | "authorizer";
  /** Mail the topic; off where another alarm already tells about the same event. */
  notify?: boolean;
}

/**
 * Any occurrence of these is worth a look: this service handles few requests and each one is a
 * customer waiting for an operator. Alarms go to one SNS topic, optionally e-mailed.
 */
export class Alarms extends Construct {
  readonly topic: Topic;
  readonly alarms: Alarm[] = [];
  /** The alarms that roll back each function's deploy (docs/deploy.md). */
  readonly rollback: { transfer: Alarm[]; authorizer: Alarm[] } = { transfer: [], authorizer: [] };

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    // No KMS key: CloudWatch cannot publish to a topic under the AWS-managed SNS key, and alarm
    // messages (names and metric values) are not worth a customer-managed key.
    this.topic = new Topic(this, "Topic", { displayName: "b24-transfer alarms", enforceSSL: true });
    if (props.alarmEmail) this.topic.addSubscription(new EmailSubscription(props.alarmEmail));

    const { transfer, authorizer, api, failureQueue } = props;
    this.add(
      "TransferErrors",
      "The transfer function's current version failed (threw or timed out) when invoked through its live alias; during a deploy, the new version",
      transfer.newVersionErrors(),
      { rollback: "transfer" },
    );
    this.add(
      "TransferThrottles",
      "Invocations of the transfer function's live alias were throttled",
      transfer.alias.metricThrottles(),
      { rollback: "transfer" },
    );
    this.add(
      "Api5xx",
      "The API answered 5xx (function failure, Bitrix24 failure or timeout)",
      api.metricServerError(),
    );
    if (authorizer) {
      this.add(
        "AuthorizerErrors",
        "The authorizer's current version failed: callers get 500 (often the client-token secret is unreadable or not JSON)",
        authorizer.newVersionErrors(),
        { rollback: "authorizer" },
      );
    }
    this.add(
      "FailedInvocations",
      "A scheduled or event-driven transfer failed for good: read its message in the failure queue",
      failureQueue.metricApproximateNumberOfMessagesVisible({ statistic: "Maximum" }),
    );
    // Messages already waiting would keep the alarm above in ALARM and block every deploy; new ones count.
    this.add(
      "FailureQueueGrowth",
      "A message was added to the failure queue within the last minute (rolls back a deploy in progress; FailedInvocations notifies)",
      failureQueue.metricNumberOfMessagesSent({ statistic: "Sum" }),
      { rollback: "transfer", notify: false },
    );
    // The function publishes these without portal and method too, so one alarm covers them all.
    const bitrix24 = (metricName: string, statistic: string) =>
      new Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { service: TRANSFER_SERVICE_NAME },
        statistic,
      });
    const bitrix24Failures = (code: string) =>
      new Metric({
        namespace: METRICS_NAMESPACE,
        metricName: METRIC.transfersFailed,
        dimensionsMap: { service: TRANSFER_SERVICE_NAME, code },
        statistic: "Sum",
      });
    this.add(
      "OutcomeUnknown",
      "Bitrix24 may or may not have transferred a chat (OUTCOME_UNKNOWN): look at the chat before trying again",
      bitrix24Failures("OUTCOME_UNKNOWN"),
      { rollback: "transfer" },
    );
    const percent = props.operatingTimeAlarmPercent;
    this.add(
      "Bitrix24OperatingTime",
      `A Bitrix24 method has used ${percent} % of its operating-time budget (420 s per 10 minutes by default); at 100 % Bitrix24 blocks it and callers get RATE_LIMITED until time.operating_reset_at. The dashboard shows which portal and method`,
      bitrix24(METRIC.operatingShare, "Maximum"),
      { threshold: percent },
    );
    this.add(
      "Bitrix24QueryLimit",
      "Bitrix24 answered QUERY_LIMIT_EXCEEDED (the portal's request bucket overflowed; the calls were retried): something else may be calling the portal heavily",
      bitrix24(METRIC.queryLimitHits, "Sum"),
    );
    this.add(
      "PortalMoved",
      "A portal answered 302 with a new address and the call followed it: update the portal's secret to the new address (the log line names the portal and the new host). Unexpected moves may be an attack on the portal's address",
      bitrix24(METRIC.portalMoved, "Sum"),
    );
  }

  private add(id: string, description: string, metric: Metric, options: AlarmOptions = {}): void {
    const { threshold = 1, rollback, notify = true } = options;
    const alarm = new Alarm(this, id, {
      alarmDescription: description,
      metric: metric.with({ period: rollback ? ROLLBACK_PERIOD : PERIOD }),
      threshold,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      // No data means no requests, which is not a failure.
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    // OK notifications too, so whoever got the alarm also learns it cleared.
    if (notify) {
      alarm.addAlarmAction(new SnsAction(this.topic));
      alarm.addOkAction(new SnsAction(this.topic));
    }
    this.alarms.push(alarm);
    if (rollback) this.rollback[rollback].push(alarm);
  }
}
