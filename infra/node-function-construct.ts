import { type Duration, RemovalPolicy, Validations } from "aws-cdk-lib";
import { Metric } from "aws-cdk-lib/aws-cloudwatch";
import { Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import {
  Alias,
  Architecture,
  Function as LambdaFunction,
  type ParamsAndSecretsLayerVersion,
  Runtime,
  Tracing,
  type Version,
} from "aws-cdk-lib/aws-lambda";
import { LogGroup, type RetentionDays } from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { bundledCode } from "./bundled-code.ts";
import type { LambdaName } from "./bundling.ts";

/**
 * The newest Node.js runtime aws-cdk-lib knows. cdk-nag's AwsSolutions-L1 fails anything older, so a
 * CDK upgrade that adds a newer runtime makes the nag test fail until this is bumped.
 */
export const NODE_RUNTIME = Runtime.NODEJS_24_X;

/** The alias every invoker calls; CodeDeploy moves it from one published version to the next. */
export const LIVE_ALIAS = "live";

export interface NodeFunctionProps {
  bundle: LambdaName;
  description: string;
  memorySize: number;
  timeout: Duration;
  logRetention: RetentionDays;
  environment: Record<string, string>;
  reservedConcurrentExecutions?: number;
  /** X-Ray active tracing: Lambda's own segments, no SDK in the bundle. */
  tracing?: boolean;
  /** The AWS Parameters and Secrets Lambda Extension layer, with its settings as environment variables. */
  paramsAndSecrets?: ParamsAndSecretsLayerVersion;
  /** Provisioned concurrency on the `live` alias (none by default). */
  provisionedConcurrency?: number | undefined;
}

/**
 * One of this project's functions with the defaults they all share: the project's esbuild bundle,
 * newest Node.js on arm64, its own log group with retention, a role that may write to that log
 * group and nothing else until a construct grants more, and a version published for each deploy
 * behind the alias `live`, which is what every invoker is given (never the function itself, whose
 * unqualified name runs `$LATEST`, the newest code even while a deploy is being rolled back).
 */
export class NodeFunction extends Construct {
  readonly function: LambdaFunction;
  /** The version this deploy publishes (a new one whenever the code or configuration changes). */
  readonly version: Version;
  /** What API Gateway, EventBridge, Scheduler and any future consumer invoke. */
  readonly alias: Alias;
  readonly logGroup: LogGroup;
  readonly role: Role;

  constructor(scope: Construct, id: string, props: NodeFunctionProps) {
    super(scope, id);
    this.logGroup = new LogGroup(this, "Logs", {
      retention: props.logRetention,
      // Retention already bounds the data; a deleted stack should not leave orphaned groups behind.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // An explicit role instead of AWSLambdaBasicExecutionRole, which may write to every log group.
    this.role = new Role(this, "Role", {
      assumedBy: new ServicePrincipal("lambda.amazonaws.com"),
      description: `Runs ${props.description}`,
    });
    this.logGroup.grantWrite(this.role);

    this.function = new LambdaFunction(this, "Function", {
      code: bundledCode(props.bundle),
      handler: "index.handler",
      runtime: NODE_RUNTIME,
      architecture: Architecture.ARM_64,
      description: props.description,
      memorySize: props.memorySize,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      tracing: props.tracing ? Tracing.ACTIVE : Tracing.DISABLED,
      // No --enable-source-maps: Node would read the 0.8 MB of maps on every cold start (4-8 ms,
      // docs/performance.md). The maps ship in the asset to decode a minified stack trace when needed.
      environment: props.environment,
      paramsAndSecrets: props.paramsAndSecrets,
      // Kept after the next deploy, so `live` can be pointed back at one by hand (docs/deploy.md).
      currentVersionOptions: { removalPolicy: RemovalPolicy.RETAIN },
    });
    this.version = this.function.currentVersion;
    this.alias = new Alias(this, "Live", {
      aliasName: LIVE_ALIAS,
      version: this.version,
      provisionedConcurrentExecutions: props.provisionedConcurrency,
    });
    const policy = this.role.node.tryFindChild("DefaultPolicy");
    if (props.tracing && policy) {
      Validations.of(policy).acknowledge({
        id: "AwsSolutions-IAM5[Resource::*]",
        reason:
          'X-Ray active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions, so AWS documents Resource "*" for them; CDK adds exactly these two actions.',
      });
    }
  }

  /**
   * The errors of the version this deploy publishes, as invoked through `live` (the dimensions AWS SAM's
   * safe-deployment alarms use): while CodeDeploy shifts traffic, only the new version's calls count.
   */
  newVersionErrors(): Metric {
    return new Metric({
      namespace: "AWS/Lambda",
      metricName: "Errors",
      dimensionsMap: {
        FunctionName: this.function.functionName,
        Resource: `${this.function.functionName}:${LIVE_ALIAS}`,
        ExecutedVersion: this.version.version,
      },
      statistic: "Sum",
    });
  }
}
