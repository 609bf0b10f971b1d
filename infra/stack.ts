import { CfnOutput, Duration, Stack, type StackProps } from "aws-cdk-lib";
import { HttpIamAuthorizer } from "aws-cdk-lib/aws-apigatewayv2-authorizers";
import { type IRole, Role } from "aws-cdk-lib/aws-iam";
import type { RetentionDays } from "aws-cdk-lib/aws-logs";
import type { Construct } from "constructs";
import { Alarms } from "./alarms-construct.ts";
import { ClientTokenAuthorizer } from "./client-token-authorizer-construct.ts";
import { portalOutputSuffix, type TransferConfig } from "./config.ts";
import { Dashboard } from "./dashboard-construct.ts";
import { FailedInvocations } from "./failed-invocations-construct.ts";
import { IdempotencyTable } from "./idempotency-table-construct.ts";
import { PortalSecrets } from "./portal-secrets-construct.ts";
import { SafeDeployment } from "./safe-deployment-construct.ts";
import { Schedules } from "./schedules-construct.ts";
import { SecretsKey } from "./secrets-key-construct.ts";
import { TransferApi } from "./transfer-api-construct.ts";
import { TransferEvents } from "./transfer-events-construct.ts";
import { TransferFunction } from "./transfer-function-construct.ts";

export interface TransferStackProps extends StackProps {
  config: TransferConfig;
}

/**
 * Everything b24-transfer needs in one account and region. Environment-agnostic (no lookups), so it
 * synthesizes offline without credentials.
 */
export class TransferStack extends Stack {
  readonly secretsKey: SecretsKey | undefined;
  readonly portalSecrets: PortalSecrets;
  readonly transfer: TransferFunction;
  readonly api: TransferApi;
  readonly clientTokens: ClientTokenAuthorizer | undefined;
  readonly failedInvocations: FailedInvocations;
  readonly idempotency: IdempotencyTable;
  readonly schedules: Schedules;
  readonly transferEvents: TransferEvents | undefined;
  readonly alarms: Alarms;
  readonly dashboard: Dashboard;
  readonly deployment: SafeDeployment;

  constructor(scope: Construct, id: string, props: TransferStackProps) {
    super(scope, id, {
      description: "b24-transfer: hand Bitrix24 Open Lines chats to an operator or queue over HTTP",
      ...props,
    });
    const { config } = props;
    const logRetention = config.logRetentionDays as RetentionDays;

    this.idempotency = new IdempotencyTable(this, "Idempotency");
    // A key costs money (docs/security.md): created only when a secret of this stack will use it.
    const createsSecrets =
      config.authorization === "token" || Object.values(config.portals).some((p) => p.source === "create");
    this.secretsKey =
      config.secretsKey === "customer-managed" && createsSecrets
        ? new SecretsKey(this, "SecretsKey", { readers: config.secretReaders })
        : undefined;
    this.failedInvocations = new FailedInvocations(this, "FailedInvocations", {
      secretsKey: this.secretsKey,
      replayers: config.secretReaders,
    });
    this.portalSecrets = new PortalSecrets(this, "PortalSecrets", {
      portals: config.portals,
      secretsKey: this.secretsKey,
    });
    this.transfer = new TransferFunction(this, "TransferFunction", {
      portalSecrets: this.portalSecrets,
      defaultPortal: config.defaultPortal,
      secretCacheTtlSeconds: config.secretCacheTtlSeconds,
      logRetention,
      logLevel: config.logLevel,
      reservedConcurrency: config.reservedConcurrency,
      failureQueue: this.failedInvocations.queue,
      failureSigningSecretArn: this.failedInvocations.signingKey.secretArn,
      idempotencyTable: this.idempotency,
      tracing: config.tracing,
      secretsExtension: config.secretsExtension,
      portalMoveDomains: config.portalMoveDomains,
      clientPortals: config.clientPortals,
      messageBbcode: config.messageBbcode,
      provisionedConcurrency: config.provisionedConcurrency,
    });
    // Invokers get the alias, never the function: CodeDeploy decides which version answers.
    const transferFunction = this.transfer.handler.function;
    const transferAlias = this.transfer.handler.alias;

    this.clientTokens =
      config.authorization === "token"
        ? new ClientTokenAuthorizer(this, "ClientTokenAuth", {
            clients: config.clients,
            resultCacheTtl: Duration.seconds(config.authorizerCacheTtlSeconds),
            secretCacheTtlSeconds: config.secretCacheTtlSeconds,
            logRetention,
            logLevel: config.logLevel,
            secretsKey: this.secretsKey,
          })
        : undefined;

    this.api = new TransferApi(this, "TransferApi", {
      handler: transferAlias,
      authorizer: this.clientTokens?.authorizer ?? new HttpIamAuthorizer(),
      throttling: config.throttling,
      logRetention,
    });

    this.schedules = new Schedules(this, "Schedules", {
      schedules: config.schedules,
      service: config.scheduleService,
      target: transferAlias,
      deadLetterQueue: this.failedInvocations.queue,
    });

    this.transferEvents =
      config.eventSources.length > 0
        ? new TransferEvents(this, "TransferEvents", {
            sources: config.eventSources,
            bus: config.eventBus
              ? { kind: "dedicated", publishers: config.eventBus.publishers }
              : { kind: "existing", name: config.eventBusName as string },
            target: transferAlias,
            deadLetterQueue: this.failedInvocations.queue,
          })
        : undefined;

    this.failedInvocations.allowOnlySenders(transferFunction, this.schedulerRoles(), [
      ...this.schedules.rules.map((rule) => rule.ruleArn),
      ...(this.transferEvents ? [this.transferEvents.rule.ruleArn] : []),
    ]);

    this.alarms = new Alarms(this, "Alarms", {
      alarmEmail: config.alarmEmail,
      operatingTimeAlarmPercent: config.operatingTimeAlarmPercent,
      transfer: this.transfer.handler,
      authorizer: this.clientTokens?.handler,
      api: this.api.api,
      failureQueue: this.failedInvocations.queue,
    });

    this.deployment = new SafeDeployment(this, "Deployment", { setting: config.deployment });
    this.deployment.add("transfer", transferAlias, this.alarms.rollback.transfer);
    if (this.clientTokens) {
      this.deployment.add("authorizer", this.clientTokens.handler.alias, this.alarms.rollback.authorizer);
    }

    this.dashboard = new Dashboard(this, "Dashboard", {
      transferFunction,
      authorizerFunction: this.clientTokens?.handler.function,
      api: this.api.api,
      failureQueue: this.failedInvocations.queue,
    });

    this.addOutputs();
  }

  /** The roles EventBridge Scheduler sends with (CDK's LambdaInvoke makes one per stack and function). */
  private schedulerRoles(): IRole[] {
    return this.node.children.filter(
      (child): child is Role => child instanceof Role && child.node.id.startsWith("SchedulerRoleForTarget-"),
    );
  }

  private addOutputs(): void {
    new CfnOutput(this, "TransfersUrl", {
      value: this.api.transfersUrl,
      description: "POST transfer requests to this URL",
    });
    for (const { portal, secretId } of this.portalSecrets.portals) {
      new CfnOutput(this, `PortalSecret${portalOutputSuffix(portal)}`, {
        value: secretId,
        description: `Secret holding the webhook of portal "${portal}" (use as --secret-id)`,
      });
    }
    if (this.clientTokens) {
      new CfnOutput(this, "ClientTokensSecretName", {
        value: this.clientTokens.secret.secretName,
        description: "Secret holding the API clients' token hashes (use as --secret-id)",
      });
      new CfnOutput(this, "AuthorizerFunctionName", {
        value: this.clientTokens.handler.function.functionName,
        description: "The authorizer function (aws lambda update-alias --function-name, docs/deploy.md)",
      });
    }
    new CfnOutput(this, "FailedInvocationsQueueUrl", {
      value: this.failedInvocations.queue.queueUrl,
      description: "Scheduled and event-driven transfers that failed for good",
    });
    new CfnOutput(this, "FailureSigningSecretArn", {
      value: this.failedInvocations.signingKey.secretArn,
      description: "The key that signs parked items (npm run replay-failures -- --signing-secret)",
    });
    new CfnOutput(this, "TransferFunctionName", {
      value: this.transfer.handler.function.functionName,
      description: "The transfer function (aws lambda update-alias --function-name, docs/deploy.md)",
    });
    new CfnOutput(this, "TransferFunctionAlias", {
      value: this.transfer.handler.alias.functionArn,
      description:
        "The transfer function's live alias, what invokers call (npm run replay-failures -- --function)",
    });
    new CfnOutput(this, "DeploymentApplicationName", {
      value: this.deployment.application.applicationName,
      description: "The CodeDeploy application that shifts the live aliases (aws deploy list-deployments)",
    });
    new CfnOutput(this, "AlarmTopicArn", {
      value: this.alarms.topic.topicArn,
      description: "SNS topic the alarms notify: subscribe an e-mail or a chat integration to it",
    });
  }
}
