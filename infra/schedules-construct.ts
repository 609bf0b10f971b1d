import { TimeZone } from "aws-cdk-lib";
import { EventField, Rule, RuleTargetInput, Schedule } from "aws-cdk-lib/aws-events";
import { LambdaFunction } from "aws-cdk-lib/aws-events-targets";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import {
  ContextAttribute,
  ScheduleExpression,
  Schedule as SchedulerSchedule,
  ScheduleTargetInput,
} from "aws-cdk-lib/aws-scheduler";
import { LambdaInvoke } from "aws-cdk-lib/aws-scheduler-targets";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import type { ScheduleConfig } from "./config.ts";
import { MAX_EVENT_AGE } from "./transfer-function-construct.ts";

export interface SchedulesProps {
  schedules: readonly ScheduleConfig[];
  /** EventBridge Scheduler, or scheduled rules. */
  service: "rules" | "scheduler";
  /** The function's live alias (LambdaInvoke then grants Scheduler's role this alias alone, no `:*`). */
  target: IFunction;
  /** Receives events EventBridge could not deliver to the function. */
  deadLetterQueue: IQueue;
}

/**
 * One EventBridge rule per configured schedule. The function receives the envelope it expects from a
 * schedule (lambda/events/invocation.ts): the schedule's name, the triggering event's id and time,
 * so a redelivery can be recognised, and the request, which was validated at synth (infra/config.ts).
 */
export class Schedules extends Construct {
  readonly rules: readonly Rule[];
  readonly schedules: readonly SchedulerSchedule[];

  constructor(scope: Construct, id: string, props: SchedulesProps) {
    super(scope, id);
    const delivery = { deadLetterQueue: props.deadLetterQueue, retryAttempts: 2, maxEventAge: MAX_EVENT_AGE };
    const byRules = props.service === "rules" ? props.schedules : [];
    const byScheduler = props.service === "scheduler" ? props.schedules : [];

    this.rules = byRules.map(
      (entry) =>
        new Rule(this, entry.name, {
          description: entry.description ?? `b24-transfer schedule ${entry.name}`,
          schedule: Schedule.expression(entry.schedule),
          enabled: entry.enabled,
          targets: [
            new LambdaFunction(props.target, {
              event: RuleTargetInput.fromObject({
                schedule: entry.name,
                eventId: EventField.eventId,
                eventTime: EventField.time,
                request: entry.request,
              }),
              ...delivery,
            }),
          ],
        }),
    );

    // Same payload, no envelope: Scheduler's execution id plays the event id's part.
    this.schedules = byScheduler.map(
      (entry) =>
        new SchedulerSchedule(this, entry.name, {
          description: entry.description ?? `b24-transfer schedule ${entry.name}`,
          schedule: ScheduleExpression.expression(
            entry.schedule,
            entry.timezone ? TimeZone.of(entry.timezone) : undefined,
          ),
          enabled: entry.enabled,
          target: new LambdaInvoke(props.target, {
            input: ScheduleTargetInput.fromObject({
              schedule: entry.name,
              eventId: ContextAttribute.executionId,
              eventTime: ContextAttribute.scheduledTime,
              request: entry.request,
            }),
            ...delivery,
          }),
        }),
    );
  }
}
