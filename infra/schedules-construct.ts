import { EventField, Rule, RuleTargetInput, Schedule } from "aws-cdk-lib/aws-events";
import { LambdaFunction } from "aws-cdk-lib/aws-events-targets";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import type { ScheduleConfig } from "./config.ts";
import { MAX_EVENT_AGE } from "./transfer-function-construct.ts";

export interface SchedulesProps {
  schedules: readonly ScheduleConfig[];
  target: IFunction;
  /** Receives events EventBridge could not deliver to the function. */
  deadLetterQueue: IQueue;
}

/**
 * One EventBridge rule per configured schedule. The function receives the envelope it expects from a
 * schedule (lambda/adapters/event-sources.ts): the schedule's name, the triggering event's id and time,
 * so a redelivery can be recognised, and the request, which was validated at synth (infra/config.ts).
 */
export class Schedules extends Construct {
  readonly rules: readonly Rule[];

  constructor(scope: Construct, id: string, props: SchedulesProps) {
    super(scope, id);
    this.rules = props.schedules.map(
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
              deadLetterQueue: props.deadLetterQueue,
              retryAttempts: 2,
              maxEventAge: MAX_EVENT_AGE,
            }),
          ],
        }),
    );
  }
}
