import { RemovalPolicy } from "aws-cdk-lib";
import { AttributeType, Billing, TableV2 } from "aws-cdk-lib/aws-dynamodb";
import type { IGrantable } from "aws-cdk-lib/aws-iam";
import { Construct } from "constructs";

/**
 * The store of Powertools Idempotency (lambda/aws/idempotency.ts): Idempotency-Key answers and
 * the ids of events already handled, each expiring after 24 hours. The key and TTL attribute names
 * are Powertools' defaults for its DynamoDB persistence layer.
 */
export class IdempotencyTable extends Construct {
  readonly table: TableV2;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = new TableV2(this, "Table", {
      partitionKey: { name: "id", type: AttributeType.STRING },
      timeToLiveAttribute: "expiration",
      billing: Billing.onDemand(),
      // Records live for a day and protect only against replays: nothing here is worth keeping, and
      // point-in-time recovery (off) would restore nothing anyone wants.
      removalPolicy: RemovalPolicy.DESTROY,
    });
  }

  /** Exactly the item operations the Powertools persistence layer performs. */
  grantIdempotencyAccess(grantee: IGrantable): void {
    this.table.grant(
      grantee,
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
      "dynamodb:DeleteItem",
    );
  }
}
