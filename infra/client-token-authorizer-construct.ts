import { Duration, RemovalPolicy, SecretValue, Validations } from "aws-cdk-lib";
import { HttpLambdaAuthorizer, HttpLambdaResponseType } from "aws-cdk-lib/aws-apigatewayv2-authorizers";
import type { RetentionDays } from "aws-cdk-lib/aws-logs";
import { Secret } from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import { AUTHORIZER_SERVICE_NAME } from "../lambda/names.ts";
import { NodeFunction } from "./node-function-construct.ts";
import type { SecretsKey } from "./secrets-key-construct.ts";

export interface ClientTokenAuthorizerProps {
  clients: readonly string[];
  resultCacheTtl: Duration;
  secretCacheTtlSeconds: number;
  logRetention: RetentionDays;
  logLevel: string;
  /** Encrypts the client-token secret; only the authorizer may decrypt it. */
  secretsKey?: SecretsKey | undefined;
}

/**
 * Bearer-token authentication for the HTTP API: a secret of per-client SHA-256 token hashes and the
 * Lambda authorizer (lambda/authorizer.ts) that checks callers against it.
 */
export class ClientTokenAuthorizer extends Construct {
  readonly secret: Secret;
  readonly handler: NodeFunction;
  readonly authorizer: HttpLambdaAuthorizer;

  constructor(scope: Construct, id: string, props: ClientTokenAuthorizerProps) {
    super(scope, id);
    this.secret = new Secret(this, "ClientTokens", {
      description:
        'API client token hashes: {"<client>": "<sha256 hex>"}; add entries with npm run client-token',
      // Starts empty: nobody can call the API until a token is minted. Keep this template value stable,
      // or CloudFormation will overwrite the stored hashes on the next deploy.
      secretStringValue: SecretValue.unsafePlainText("{}"),
      // Losing the hashes would lock every client out until new tokens are minted and handed out.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    props.secretsKey?.encrypt(this.secret);
    Validations.of(this.secret).acknowledge({
      id: "AwsSolutions-SMG4",
      reason:
        "Holds hashes of tokens minted offline and handed to clients by people; rotating the secret cannot rotate the tokens, which are replaced with npm run client-token.",
    });

    this.handler = new NodeFunction(this, "Authorizer", {
      bundle: "authorizer",
      description: "b24-transfer API authorizer (bearer token to client name)",
      memorySize: 256,
      // Cold start plus one Secrets Manager read; API Gateway gives authorizers at most 10 s.
      timeout: Duration.seconds(5),
      logRetention: props.logRetention,
      environment: {
        CLIENT_TOKENS_SECRET_ID: this.secret.secretArn,
        CLIENTS: JSON.stringify(props.clients),
        SECRET_CACHE_TTL_SECONDS: String(props.secretCacheTtlSeconds),
        POWERTOOLS_SERVICE_NAME: AUTHORIZER_SERVICE_NAME,
        POWERTOOLS_LOG_LEVEL: props.logLevel,
      },
    });
    this.secret.grantRead(this.handler.function);
    props.secretsKey?.allowFunctions("AuthorizerReadsClientTokens", [this.handler.function]);

    this.authorizer = new HttpLambdaAuthorizer("ClientToken", this.handler.alias, {
      responseTypes: [HttpLambdaResponseType.SIMPLE],
      // A request without the header is rejected by API Gateway without invoking the authorizer.
      identitySource: ["$request.header.Authorization"],
      resultsCacheTtl: props.resultCacheTtl,
    });
  }
}
