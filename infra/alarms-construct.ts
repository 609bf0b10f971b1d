import { Duration } from "aws-cdk-lib";
import type { IHttpApi } from "aws-cdk-lib/aws-apigatewayv2";
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import { Topic } from "aws-cdk-lib/aws-sns";
import { EmailSubscription } from "aws-cdk-lib/aws-sns-subscriptions";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { METRIC, METRICS_NAMESPACE, TRANSFER_SERVICE_NAME } from "../lambda/names.ts";

export interface AlarmsProps {
  alarmEmail?: string;
  transferFunction: IFunction;
  authorizerFunction?: IFunction;
  api: IHttpApi;
  failureQueue: IQueue;
  /** Share (%) of a Bitrix24 method's operating-time budget at which to alarm. */
  operatingTimeAlarmPercent: number;
}

const PERIOD = Duration.minutes(5);

/**
 * Any occurrence of these is worth a look: this service handles few requests and each one is a
 * customer waiting for an operator. Alarms go to one SNS topic, optionally e-mailed.
 */
export class Alarms extends Construct {
  readonly topic: Topic;
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    // No KMS key: CloudWatch cannot publish to a topic under the AWS-managed SNS key, and alarm
    // messages (names and metric values) are not worth a customer-managed key.
    this.topic = new Topic(this, "Topic", { displayName: "b24-transfer alarms", enforceSSL: true });
    if (props.alarmEmail) this.topic.addSubscription(new EmailSubscription(props.alarmEmail));

    const { transferFunction, authorizerFunction, api, failureQueue } = props;
    this.add(
      "TransferErrors",
      "The transfer function failed (threw or timed out)",
      transferFunction.metricErrors(),
    );
    this.add("TransferThrottles", "Transfer invocations were throttled", transferFunction.metricThrottles());
    this.add(
      "Api5xx",
      "The API answered 5xx (function failure, Bitrix24 failure or timeout)",
      api.metricServerError(),
    );
    if (authorizerFunction) {
      this.add(
        "AuthorizerErrors",
        "The authorizer failed: callers get 500 (often the client-token secret is unreadable or not JSON)",
        authorizerFunction.metricErrors(),
      );
    }
    this.add(
      "FailedInvocations",
      "A scheduled or event-driven transfer failed for good: read its message in the failure queue",
      failureQueue.metricApproximateNumberOfMessagesVisible({ statistic: "Maximum" }),
    );
    // The function publishes these without portal and method too, so one alarm covers them all.
    const bitrix24 = (metricName: string, statistic: string) =>
      new Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { service: TRANSFER_SERVICE_NAME },
        statistic,
      });
    const percent = props.operatingTimeAlarmPercent;
    this.add(
      "Bitrix24OperatingTime",
      `A Bitrix24 method has used ${percent} % of its operating-time budget (420 s per 10 minutes by default); at 100 % Bitrix24 blocks it and callers get RATE_LIMITED until time.operating_reset_at. The dashboard shows which portal and method`,
      bitrix24(METRIC.operatingShare, "Maximum"),
      percent,
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

  private add(id: string, description: string, metric: Metric, threshold = 1): void {
    const alarm = new Alarm(this, id, {
      alarmDescription: description,
      metric: metric.with({ period: PERIOD }),
      threshold,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      // No data means no requests, which is not a failure.
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    // OK notifications too, so whoever got the alarm also learns it cleared.
    alarm.addAlarmAction(new SnsAction(this.topic));
    alarm.addOkAction(new SnsAction(this.topic));
    this.alarms.push(alarm);
  }
}
