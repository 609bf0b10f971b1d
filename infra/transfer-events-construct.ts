import { EventBus, Rule } from "aws-cdk-lib/aws-events";
import { LambdaFunction } from "aws-cdk-lib/aws-events-targets";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { TRANSFER_DETAIL_TYPE } from "../lambda/adapters/event-sources.ts";
import { MAX_EVENT_AGE } from "./transfer-function-construct.ts";

export interface TransferEventsProps {
  /** The `source` values allowed to request transfers; only events from these reach the function. */
  sources: readonly string[];
  /** The bus the events are put on; "default" for the account's default bus. */
  eventBusName: string;
  target: IFunction;
  deadLetterQueue: IQueue;
}

/**
 * Routes `Transfer Requested` events on the configured event bus to the function, which takes
 * the request (single or batch) from `detail`.
 */
export class TransferEvents extends Construct {
  readonly rule: Rule;

  constructor(scope: Construct, id: string, props: TransferEventsProps) {
    super(scope, id);
    this.rule = new Rule(this, "Rule", {
      eventBus: EventBus.fromEventBusName(this, "Bus", props.eventBusName),
      description: `b24-transfer: "${TRANSFER_DETAIL_TYPE}" events from ${props.sources.join(", ")}`,
      eventPattern: { detailType: [TRANSFER_DETAIL_TYPE], source: [...props.sources] },
      targets: [
        new LambdaFunction(props.target, {
          deadLetterQueue: props.deadLetterQueue,
          retryAttempts: 2,
          maxEventAge: MAX_EVENT_AGE,
        }),
      ],
    });
  }
}
