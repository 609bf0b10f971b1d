import { Duration, Validations } from "aws-cdk-lib";
import { Queue, QueueEncryption } from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";

/**
 * Where asynchronous work (schedules, events) ends up when it fails for good, kept 14 days so someone
 * can read what was not transferred and why: items the function parks itself, invocations that failed
 * after Lambda's retries, and events EventBridge could not deliver.
 */
export class FailedInvocations extends Construct {
  readonly queue: Queue;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.queue = new Queue(this, "Queue", {
      // SQS-managed keys: Lambda destinations and EventBridge can write without a KMS key policy.
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.queue).acknowledge({
      id: "AwsSolutions-SQS3",
      reason:
        "This queue is itself the dead-letter destination for failed invocations; nothing consumes it automatically, so a dead-letter queue behind it would never receive anything.",
    });
  }
}
