import { RemovalPolicy, Stack } from "aws-cdk-lib";
import {
  AccountRootPrincipal,
  ArnPrincipal,
  type IGrantable,
  PolicyDocument,
  PolicyStatement,
} from "aws-cdk-lib/aws-iam";
import { Key } from "aws-cdk-lib/aws-kms";
import type { CfnSecret, ISecret } from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";

/**
 * Managing the key, but none of its cryptographic operations. Listed without wildcards that reach
 * `kms:CreateGrant` (`kms:Create*` did): a grant would let its holder decrypt without the key policy
 * naming it. Secrets Manager needs no grant for secrets (it calls Decrypt and GenerateDataKey itself).
 */
const ADMINISTRATION = [
  "kms:CreateAlias",
  "kms:Describe*",
  "kms:Enable*",
  "kms:List*",
  "kms:Put*",
  "kms:Update*",
  "kms:Revoke*",
  "kms:Disable*",
  "kms:Get*",
  "kms:Delete*",
  "kms:TagResource",
  "kms:UntagResource",
  "kms:ScheduleKeyDeletion",
  "kms:CancelKeyDeletion",
];

/**
 * The customer-managed key of the secrets this stack creates. With the AWS-managed aws/secretsmanager
 * key, anyone with secretsmanager:GetSecretValue on `*` in the account reads every webhook; with this
 * one, its policy decides: only the functions named here may decrypt, and only through Secrets
 * Manager. The account keeps administering the key (and may change the policy, which is logged), and
 * may write new secret values through Secrets Manager (CloudFormation, put-secret-value), not read them.
 */
export class SecretsKey extends Construct {
  readonly key: Key;

  /** `readers`: IAM role or user ARNs of people or tools that must read the secrets too (say, for `npm run doctor`). */
  constructor(scope: Construct, id: string, { readers = [] }: { readers?: readonly string[] } = {}) {
    super(scope, id);
    this.key = new Key(this, "Key", {
      description: "b24-transfer: encrypts the portal and client-token secrets; only its functions decrypt",
      enableKeyRotation: true,
      // The secrets are retained with the stack's deletion; without their key they could not be read.
      removalPolicy: RemovalPolicy.RETAIN,
      // A policy of our own: CDK's default would let every principal of the account decrypt via IAM.
      policy: new PolicyDocument({
        statements: [
          new PolicyStatement({
            sid: "AccountAdministersTheKey",
            principals: [new AccountRootPrincipal()],
            actions: ADMINISTRATION,
            resources: ["*"],
          }),
          new PolicyStatement({
            sid: "AccountWritesSecretsThroughSecretsManager",
            principals: [new AccountRootPrincipal()],
            actions: ["kms:GenerateDataKey"],
            resources: ["*"],
            conditions: { StringEquals: viaSecretsManager(this) },
          }),
        ],
      }),
    });
    if (readers.length > 0) {
      this.key.addToResourcePolicy(
        new PolicyStatement({
          sid: "NamedReadersDecryptThroughSecretsManager",
          principals: readers.map((arn) => new ArnPrincipal(arn)),
          actions: ["kms:Decrypt"],
          resources: ["*"],
          conditions: { StringEquals: viaSecretsManager(this) },
        }),
      );
    }
  }

  /**
   * Encrypts a secret created in this stack with the key. Set on the CloudFormation resource, not as
   * the Secret's encryptionKey, which would add a key-policy grant letting the whole account decrypt.
   */
  encrypt(secret: ISecret): void {
    (secret.node.defaultChild as CfnSecret).kmsKeyId = this.key.keyArn;
  }

  /** Lets these functions read the secrets (and, with `write`, store new versions) through Secrets Manager. */
  allowFunctions(sid: string, functions: readonly IGrantable[], { write = false } = {}): void {
    this.key.addToResourcePolicy(
      new PolicyStatement({
        sid,
        principals: functions.map((fn) => fn.grantPrincipal),
        actions: write ? ["kms:Decrypt", "kms:GenerateDataKey"] : ["kms:Decrypt"],
        resources: ["*"],
        conditions: { StringEquals: viaSecretsManager(this) },
      }),
    );
  }
}

/** Only as Secrets Manager's calls on behalf of a principal of this account. */
function viaSecretsManager(scope: Construct): Record<string, string> {
  const stack = Stack.of(scope);
  return {
    "kms:ViaService": `secretsmanager.${stack.region}.amazonaws.com`,
    "kms:CallerAccount": stack.account,
  };
}
