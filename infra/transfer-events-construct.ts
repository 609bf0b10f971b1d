import { CfnOutput } from "aws-cdk-lib";
import { CfnEventBusPolicy, EventBus, type IEventBus, Rule } from "aws-cdk-lib/aws-events";
import { LambdaFunction } from "aws-cdk-lib/aws-events-targets";
import {
  AccountPrincipal,
  AnyPrincipal,
  ArnPrincipal,
  Effect,
  type IPrincipal,
  PolicyStatement,
} from "aws-cdk-lib/aws-iam";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { TRANSFER_DETAIL_TYPE } from "../lambda/names.ts";
import { MAX_EVENT_AGE } from "./transfer-function-construct.ts";

/**
 * A dedicated bus whose policy names the publishers (recommended), or an existing bus by name, where
 * anyone allowed to put events can claim one of the allowed sources.
 */
export type TransferEventBus =
  | { kind: "dedicated"; publishers: readonly string[] }
  | { kind: "existing"; name: string };

export interface TransferEventsProps {
  /** The `source` values allowed to request transfers; only events from these reach the function. */
  sources: readonly string[];
  bus: TransferEventBus;
  target: IFunction;
  deadLetterQueue: IQueue;
}

/**
 * Routes `Transfer Requested` events on the configured event bus to the function, which takes
 * the request (single or batch) from `detail`.
 */
export class TransferEvents extends Construct {
  readonly rule: Rule;
  readonly bus: IEventBus;

  constructor(scope: Construct, id: string, props: TransferEventsProps) {
    super(scope, id);
    this.bus =
      props.bus.kind === "dedicated"
        ? dedicatedBus(this, props.bus.publishers)
        : EventBus.fromEventBusName(this, "Bus", props.bus.name);
    this.rule = new Rule(this, "Rule", {
      eventBus: this.bus,
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

/**
 * An event's `source` is whatever its sender wrote, so who may send is decided here: the publishers are
 * allowed, and everyone else is denied, also principals of this account whose IAM policies allow
 * events:PutEvents on every bus (an identity policy alone would otherwise suffice within the account).
 */
function dedicatedBus(scope: Construct, publishers: readonly string[]): EventBus {
  const bus = new EventBus(scope, "Bus", {
    description: "b24-transfer: Transfer Requested events, from the publishers named in its policy only",
  });
  const accounts = publishers.filter((publisher) => /^\d{12}$/.test(publisher));
  const arns = publishers.filter((publisher) => !accounts.includes(publisher));
  const principals: IPrincipal[] = [
    ...accounts.map((account) => new AccountPrincipal(account)),
    ...arns.map((arn) => new ArnPrincipal(arn)),
  ];
  bus.addToResourcePolicy(
    new PolicyStatement({
      sid: "PublishersMayPutEvents",
      principals,
      actions: ["events:PutEvents"],
      resources: [bus.eventBusArn],
    }),
  );
  const conditions: Record<string, Record<string, string[]>> = {};
  if (arns.length > 0) conditions.ArnNotLike = { "aws:PrincipalArn": arns };
  if (accounts.length > 0) conditions.StringNotEquals = { "aws:PrincipalAccount": accounts };
  bus.addToResourcePolicy(
    new PolicyStatement({
      sid: "NobodyElseMayPutEvents",
      effect: Effect.DENY,
      principals: [new AnyPrincipal()],
      actions: ["events:PutEvents"],
      resources: [bus.eventBusArn],
      conditions,
    }),
  );
  withoutDeprecatedPrincipalReads(bus);
  new CfnOutput(scope, "EventBusName", {
    value: bus.eventBusName,
    description: "Put Transfer Requested events on this bus (only the configured publishers may)",
  });
  return bus;
}

/**
 * cdk-nag's AwsSolutions-EVB1 reads `principal` of every CfnEventBusPolicy, a getter CDK deprecated in
 * favour of `statement`, and that read prints CDK's deprecation warning on every synth. These policies
 * carry a statement and never a principal: the getter is shadowed by one that answers the same
 * (undefined) without the warning, so a deprecation warning in synth output means something real.
 */
function withoutDeprecatedPrincipalReads(bus: EventBus): void {
  for (const child of bus.node.findAll()) {
    if (child instanceof CfnEventBusPolicy) {
      Object.defineProperty(child, "principal", { get: () => undefined, configurable: true });
    }
  }
}
