import { Arn, ArnFormat, RemovalPolicy, SecretValue, Stack, Validations } from "aws-cdk-lib";
import { type IGrantable, PolicyStatement } from "aws-cdk-lib/aws-iam";
import { type ISecret, Secret } from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import type { PortalSource } from "./config.ts";
import type { SecretsKey } from "./secrets-key-construct.ts";

/**
 * The value a created portal secret starts with: not a URL, so the function reports the portal as not
 * configured until someone puts the real webhook URL in.
 * Keep it stable: CloudFormation rewrites the secret whenever this template value changes, which would
 * wipe every real webhook URL on the next deploy.
 */
export const PORTAL_SECRET_PLACEHOLDER = JSON.stringify({ webhookUrl: "REPLACE_ME" });

export interface PortalSecret {
  portal: string;
  secret: ISecret;
  /** What the function passes to GetSecretValue: the ARN, or the name of a secret imported by name. */
  secretId: string;
  created: boolean;
  auth: "webhook" | "oauth";
  /** The customer-managed key an imported secret is encrypted with, if any. */
  kmsKeyArn?: string;
}

/** One Secrets Manager secret per portal, created with a placeholder or imported by name or ARN. */
export class PortalSecrets extends Construct {
  readonly portals: readonly PortalSecret[];
  readonly #secretsKey: SecretsKey | undefined;

  constructor(
    scope: Construct,
    id: string,
    props: { portals: Record<string, PortalSource>; secretsKey?: SecretsKey | undefined },
  ) {
    super(scope, id);
    this.#secretsKey = props.secretsKey;
    this.portals = Object.entries(props.portals).map(([portal, source]) => this.portalSecret(portal, source));
  }

  /** Read access to exactly these secrets (for created ones under the stack's key, also in the key policy). */
  grantRead(grantee: IGrantable): void {
    const created = this.portals.filter((portal) => portal.created);
    if (this.#secretsKey && created.length > 0) {
      const write = created.some((portal) => portal.auth === "oauth");
      this.#secretsKey.allowFunctions("TransferFunctionUsesPortalSecrets", [grantee], { write });
    }
    for (const { secret, kmsKeyArn } of this.portals) {
      secret.grantRead(grantee);
      if (kmsKeyArn) grantee.grantPrincipal.addToPrincipalPolicy(decryptThroughSecretsManager(kmsKeyArn));
    }
  }

  /**
   * What rotating an OAuth portal's tokens needs, on exactly those secrets: write a new version, move
   * AWSCURRENT to it (the compare-and-swap), and look at the versions when the swap fails. Not
   * secret.grantWrite, which would also allow UpdateSecret.
   */
  grantTokenRotation(grantee: IGrantable): void {
    const oauth = this.portals.filter((portal) => portal.auth === "oauth");
    if (oauth.length === 0) return;
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: [
          "secretsmanager:PutSecretValue",
          "secretsmanager:UpdateSecretVersionStage",
          "secretsmanager:DescribeSecret",
        ],
        resources: oauth.map((portal) => this.policyArn(portal)),
      }),
    );
    for (const { kmsKeyArn } of oauth) {
      if (kmsKeyArn) grantee.grantPrincipal.addToPrincipalPolicy(encryptThroughSecretsManager(kmsKeyArn));
    }
  }

  /** The function's OAUTH_PORTALS list. */
  oauthPortals(): string[] {
    return this.portals.filter((portal) => portal.auth === "oauth").map((portal) => portal.portal);
  }

  /** A secret imported by name has no known suffix: "<name>-??????" matches exactly that secret. */
  private policyArn({ secret, secretId, created }: PortalSecret): string {
    if (created || secretId.startsWith("arn:")) return secret.secretArn;
    return Stack.of(this).formatArn({
      service: "secretsmanager",
      resource: "secret",
      resourceName: `${secretId}-??????`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
  }

  /** The function's PORTALS map: portal name to secret id. */
  secretIds(): Record<string, string> {
    return Object.fromEntries(this.portals.map(({ portal, secretId }) => [portal, secretId]));
  }

  private portalSecret(portal: string, source: PortalSource): PortalSecret {
    const id = `Portal-${portal}`;
    if (source.source === "import") {
      const secret = source.secret.startsWith("arn:")
        ? Secret.fromSecretCompleteArn(this, id, source.secret)
        : // Without the random suffix, grants cover "<name>-??????", which matches exactly this secret.
          Secret.fromSecretNameV2(this, id, source.secret);
      return {
        portal,
        secret,
        secretId: source.secret,
        created: false,
        auth: source.auth,
        kmsKeyArn: source.kmsKeyArn,
      };
    }
    const secret = new Secret(this, id, {
      description: `Bitrix24 inbound webhook for portal "${portal}" (JSON: webhookUrl and the bot's clientId)`,
      secretStringValue: SecretValue.unsafePlainText(PORTAL_SECRET_PLACEHOLDER),
      // The webhook URL is entered by hand and cannot be recreated from anything in this stack.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.#secretsKey?.encrypt(secret);
    Validations.of(secret).acknowledge({
      id: "AwsSolutions-SMG4",
      reason:
        source.auth === "oauth"
          ? "Holds a Bitrix24 application's OAuth token pair, which the transfer function itself rotates with every refresh (compare-and-swap on the secret version); a Secrets Manager rotation would race it and kill the refresh token, so rotation must stay off."
          : "Holds a Bitrix24 inbound webhook URL that is issued in the Bitrix24 portal; a rotation Lambda cannot create a new webhook, so it is replaced by hand (put-secret-value) when it is regenerated.",
    });
    return { portal, secret, secretId: secret.secretArn, created: true, auth: source.auth };
  }
}

/**
 * CDK's own grant for an imported key lands in the key policy, which an imported key cannot change, so
 * the role gets the permission instead, usable only through Secrets Manager in the key's region.
 */
function decryptThroughSecretsManager(kmsKeyArn: string): PolicyStatement {
  return throughSecretsManager(kmsKeyArn, "kms:Decrypt");
}

/** Writing a new version of a secret under a customer-managed key needs a data key from it. */
function encryptThroughSecretsManager(kmsKeyArn: string): PolicyStatement {
  return throughSecretsManager(kmsKeyArn, "kms:GenerateDataKey");
}

function throughSecretsManager(kmsKeyArn: string, action: string): PolicyStatement {
  const { region } = Arn.split(kmsKeyArn, ArnFormat.SLASH_RESOURCE_NAME);
  return new PolicyStatement({
    actions: [action],
    resources: [kmsKeyArn],
    conditions: { StringEquals: { "kms:ViaService": `secretsmanager.${region}.amazonaws.com` } },
  });
}
