import { readFileSync } from "node:fs";
import { Match, type Template } from "aws-cdk-lib/assertions";
import { Runtime } from "aws-cdk-lib/aws-lambda";
import { beforeAll, describe, expect, it } from "vitest";
import { PORTAL_SECRET_PLACEHOLDER } from "../../infra/portal-secrets-construct.ts";
import { classifyInvocation } from "../../lambda/events/invocation.ts";
import { TRANSFER_DETAIL_TYPE } from "../../lambda/names.ts";
import { BASE_CONFIG, FULL_CONFIG, synthTemplate } from "./synth.ts";

type Resources = Record<
  string,
  { Type: string; Properties: Record<string, unknown>; [key: string]: unknown }
>;

const resourcesOf = (template: Template, type: string): Resources =>
  template.findResources(type) as Resources;

const onlyResource = (template: Template, type: string, props: Record<string, unknown> = {}) => {
  const found = Object.entries(template.findResources(type, { Properties: Match.objectLike(props) }));
  expect(found, `exactly one ${type} matching ${JSON.stringify(props)}`).toHaveLength(1);
  return found[0] as [string, Resources[string]];
};

const functionByBundle = (template: Template, description: RegExp) => {
  const found = Object.entries(resourcesOf(template, "AWS::Lambda::Function")).filter(([, r]) =>
    description.test(String(r.Properties.Description)),
  );
  expect(found).toHaveLength(1);
  return found[0] as [string, Resources[string]];
};

const transferFunction = (t: Template) => functionByBundle(t, /hands a Bitrix24/);
const authorizerFunction = (t: Template) => functionByBundle(t, /authorizer/);

/** The logical id of the `live` alias of a function: what every invoker must reference. */
const liveAlias = (t: Template, functionId: string) =>
  onlyResource(t, "AWS::Lambda::Alias", { FunctionName: { Ref: functionId }, Name: "live" })[0];

interface Statement {
  Action: string | string[];
  Resource: unknown;
  Effect: string;
  Condition?: unknown;
}

/** Every statement of the inline policies attached to the role a function runs as. */
function statementsOfFunction(template: Template, functionLogicalId: string): Statement[] {
  const fn = template.toJSON().Resources[functionLogicalId];
  const roleId = fn.Properties.Role["Fn::GetAtt"][0];
  return Object.values(resourcesOf(template, "AWS::IAM::Policy"))
    .filter((policy) => (policy.Properties.Roles as { Ref: string }[]).some((role) => role.Ref === roleId))
    .flatMap((policy) => (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}

interface InputTransformer {
  InputPathsMap: Record<string, string>;
  InputTemplate: string;
}

/** EventBridge's input transformer for top-level paths: each `<name>` becomes the JSON of `$.field`. */
function applyInputTransformer(
  { InputPathsMap, InputTemplate }: InputTransformer,
  event: Record<string, unknown>,
) {
  let text = InputTemplate;
  for (const [name, path] of Object.entries(InputPathsMap)) {
    text = text.replaceAll(`<${name}>`, JSON.stringify(event[path.replace(/^\$\./, "")]));
  }
  return JSON.parse(text);
}

const actionsOf = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
const resourcesOfStatement = (s: Statement) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]);

function secretsResources(statements: Statement[]): unknown[] {
  return statements
    .filter((s) => actionsOf(s).some((a) => a.startsWith("secretsmanager:")))
    .flatMap(resourcesOfStatement);
}

describe("default stack (cdk.json settings)", () => {
  let template: Template;
  beforeAll(() => {
    template = synthTemplate(BASE_CONFIG);
  });

  it("runs the transfer function on the newest Node.js runtime, arm64, with its timeout under the API limit", () => {
    const newestNode = Runtime.ALL.filter((r) => r.name.startsWith("nodejs"))
      .map((r) => r.name)
      .sort((a, b) => a.localeCompare(b, undefined, { numeric: true }))
      .at(-1);
    const [, fn] = transferFunction(template);
    expect(fn.Properties).toMatchObject({
      Runtime: newestNode,
      Architectures: ["arm64"],
      Handler: "index.handler",
      MemorySize: 512,
      Timeout: 28,
    });
    // The HTTP API stops waiting at 30 s; the function's own deadline must come first.
    expect(fn.Properties.Timeout).toBeLessThan(30);
  });

  it("configures the transfer function from the settings", () => {
    const [, fn] = transferFunction(template);
    const [queueId] = onlyResource(template, "AWS::SQS::Queue");
    const [tableId] = onlyResource(template, "AWS::DynamoDB::GlobalTable");
    const [secretId] = onlyResource(template, "AWS::SecretsManager::Secret", {
      Description: Match.stringLikeRegexp('portal "main"'),
    });
    expect(fn.Properties.Environment).toEqual({
      Variables: {
        PORTALS: { "Fn::Join": ["", ['{"main":"', { Ref: secretId }, '"}']] },
        DEFAULT_PORTAL: "main",
        SECRET_CACHE_TTL_SECONDS: "300",
        POWERTOOLS_SERVICE_NAME: "b24-transfer",
        POWERTOOLS_LOG_LEVEL: "INFO",
        FAILURE_QUEUE_URL: { Ref: queueId },
        FAILURE_SIGNING_SECRET: { Ref: signingKeyId(template) },
        IDEMPOTENCY_TABLE: { Ref: tableId },
        OAUTH_PORTALS: "[]",
        // The Parameters and Secrets extension's settings (secretsExtension, on by default).
        PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED: "true",
        PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE: "1000",
        PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: "2773",
        PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL: "warn",
        PARAMETERS_SECRETS_EXTENSION_MAX_CONNECTIONS: "3",
        SECRETS_MANAGER_TIMEOUT_MILLIS: "0",
        SECRETS_MANAGER_TTL: "300",
        SSM_PARAMETER_STORE_TIMEOUT_MILLIS: "0",
        SSM_PARAMETER_STORE_TTL: "300",
      },
    });
    expect(fn.Properties.ReservedConcurrentExecutions).toBeUndefined();
  });

  it("gives every function its own log group with the configured retention", () => {
    const functions = Object.values(resourcesOf(template, "AWS::Lambda::Function"));
    expect(functions).toHaveLength(2);
    const logGroups = resourcesOf(template, "AWS::Logs::LogGroup");
    for (const fn of functions) {
      const logGroupId = (fn.Properties.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
      expect(logGroups[logGroupId]?.Properties.RetentionInDays).toBe(30);
    }
  });

  it("creates the portal secret with a placeholder and keeps it when the stack is deleted", () => {
    const [, secret] = onlyResource(template, "AWS::SecretsManager::Secret", {
      Description: Match.stringLikeRegexp('portal "main"'),
    });
    expect(secret.Properties.SecretString).toBe(PORTAL_SECRET_PLACEHOLDER);
    expect(JSON.parse(PORTAL_SECRET_PLACEHOLDER).webhookUrl).not.toMatch(/^https:/);
    expect(secret.DeletionPolicy).toBe("Retain");
    expect(secret.UpdateReplacePolicy).toBe("Retain");
  });

  it("exposes only POST /transfers and GET /transfers/chats/{chatId}, both behind the Lambda authorizer", () => {
    const routes = Object.values(resourcesOf(template, "AWS::ApiGatewayV2::Route"));
    expect(routes.map((r) => r.Properties.RouteKey).sort()).toEqual([
      "GET /transfers/chats/{chatId}",
      "POST /transfers",
    ]);
    const [authorizerId, authorizer] = onlyResource(template, "AWS::ApiGatewayV2::Authorizer");
    for (const route of routes) {
      expect(route.Properties).toMatchObject({
        AuthorizationType: "CUSTOM",
        AuthorizerId: { Ref: authorizerId },
      });
    }
    // One integration: both routes run the same function.
    expect(new Set(routes.map((route) => JSON.stringify(route.Properties.Target))).size).toBe(1);
    const [authorizerFnId] = authorizerFunction(template);
    expect(authorizer.Properties).toMatchObject({
      AuthorizerType: "REQUEST",
      AuthorizerPayloadFormatVersion: "2.0",
      EnableSimpleResponses: true,
      IdentitySource: ["$request.header.Authorization"],
      AuthorizerResultTtlInSeconds: 300,
    });
    expect(JSON.stringify(authorizer.Properties.AuthorizerUri)).toContain(
      `{"Ref":"${liveAlias(template, authorizerFnId)}"}`,
    );
    const [, integration] = onlyResource(template, "AWS::ApiGatewayV2::Integration");
    const [transferId] = transferFunction(template);
    expect(integration.Properties).toMatchObject({
      IntegrationType: "AWS_PROXY",
      PayloadFormatVersion: "2.0",
      IntegrationUri: { Ref: liveAlias(template, transferId) },
    });
  });

  it("throttles the stage and writes JSON access logs to their own log group", () => {
    const [, stage] = onlyResource(template, "AWS::ApiGatewayV2::Stage");
    expect(stage.Properties).toMatchObject({
      StageName: "$default",
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 },
    });
    const { DestinationArn, Format } = stage.Properties.AccessLogSettings as {
      DestinationArn: unknown;
      Format: string;
    };
    const accessLogGroup = (DestinationArn as { "Fn::GetAtt": [string, string] })["Fn::GetAtt"][0];
    const functionLogGroups = Object.values(resourcesOf(template, "AWS::Lambda::Function")).map(
      (fn) => (fn.Properties.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref,
    );
    expect(functionLogGroups).not.toContain(accessLogGroup);
    expect(resourcesOf(template, "AWS::Logs::LogGroup")[accessLogGroup]?.Properties.RetentionInDays).toBe(30);
    const format = JSON.parse(Format);
    expect(format).toMatchObject({
      requestId: "$context.requestId",
      status: "$context.status",
      client: "$context.authorizer.client",
    });
  });

  it("lets the authorizer read only the client-token secret, and the function only the portal secrets and the signing key", () => {
    const [clientSecretId, clientSecret] = onlyResource(template, "AWS::SecretsManager::Secret", {
      Description: Match.stringLikeRegexp("client token hashes"),
    });
    expect(clientSecret.Properties.SecretString).toBe("{}");
    const [portalSecretId] = onlyResource(template, "AWS::SecretsManager::Secret", {
      Description: Match.stringLikeRegexp('portal "main"'),
    });
    const [authorizerId, authorizer] = authorizerFunction(template);
    expect(secretsResources(statementsOfFunction(template, authorizerId))).toEqual([{ Ref: clientSecretId }]);
    expect((authorizer.Properties.Environment as { Variables: object }).Variables).toMatchObject({
      CLIENT_TOKENS_SECRET_ID: { Ref: clientSecretId },
      CLIENTS: '["example-crm"]',
      SECRET_CACHE_TTL_SECONDS: "300",
    });
    const [transferId] = transferFunction(template);
    expect(secretsResources(statementsOfFunction(template, transferId))).toEqual(
      expect.arrayContaining([{ Ref: portalSecretId }, { Ref: signingKeyId(template) }]),
    );
    expect(secretsResources(statementsOfFunction(template, transferId))).toHaveLength(2);
  });

  it("grants no function a managed policy or a wildcard log permission", () => {
    const roles = Object.values(resourcesOf(template, "AWS::IAM::Role"));
    const assumedBy = (role: Resources[string]) =>
      JSON.stringify((role.Properties.AssumeRolePolicyDocument as { Statement: unknown }).Statement);
    // CodeDeploy's role is the one exception: CDK always gives it AWSCodeDeployRoleForLambdaLimited.
    for (const role of roles.filter((r) => !assumedBy(r).includes("codedeploy.amazonaws.com"))) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    }
    for (const [id] of Object.entries(resourcesOf(template, "AWS::Lambda::Function"))) {
      const logStatements = statementsOfFunction(template, id).filter((s) =>
        actionsOf(s).some((a) => a.startsWith("logs:")),
      );
      expect(logStatements).toHaveLength(1);
      expect(JSON.stringify(logStatements[0]?.Resource)).not.toContain("*");
    }
  });

  it("retries asynchronous invocations twice, then sends them to an encrypted, TLS-only queue kept 14 days", () => {
    const [queueId, queue] = onlyResource(template, "AWS::SQS::Queue");
    expect(queue.Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
    const [, policy] = onlyResource(template, "AWS::SQS::QueuePolicy");
    expect((policy.Properties.PolicyDocument as { Statement: unknown[] }).Statement).toContainEqual(
      expect.objectContaining({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
    );
    const [transferId] = transferFunction(template);
    const [, invokeConfig] = onlyResource(template, "AWS::Lambda::EventInvokeConfig");
    // On the alias EventBridge and Scheduler invoke (the alias ARN's eighth field is its name).
    expect(invokeConfig.Properties).toEqual({
      FunctionName: { Ref: transferId },
      Qualifier: { "Fn::Select": [7, { "Fn::Split": [":", { Ref: liveAlias(template, transferId) }] }] },
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 900,
      DestinationConfig: { OnFailure: { Destination: { "Fn::GetAtt": [queueId, "Arn"] } } },
    });
    // The function parks failed items itself (FAILURE_QUEUE_URL), and may touch no other queue.
    const sqsStatements = statementsOfFunction(template, transferId).filter((st) =>
      actionsOf(st).some((a) => a.startsWith("sqs:")),
    );
    expect(sqsStatements).toHaveLength(1);
    expect(actionsOf(sqsStatements[0] as Statement)).toContain("sqs:SendMessage");
    expect(sqsStatements[0]?.Resource).toEqual({ "Fn::GetAtt": [queueId, "Arn"] });
  });

  it("keeps idempotency records in an on-demand table that expires them, usable only for item access", () => {
    const [tableId, table] = onlyResource(template, "AWS::DynamoDB::GlobalTable");
    expect(table.Properties).toMatchObject({
      KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
      AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }],
      BillingMode: "PAY_PER_REQUEST",
      TimeToLiveSpecification: { AttributeName: "expiration", Enabled: true },
    });
    expect(table.DeletionPolicy).toBe("Delete");
    const [transferId] = transferFunction(template);
    const dynamo = statementsOfFunction(template, transferId).filter((st) =>
      actionsOf(st).some((a) => a.startsWith("dynamodb:")),
    );
    expect(dynamo).toHaveLength(1);
    expect(actionsOf(dynamo[0] as Statement).sort()).toEqual(
      ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"].sort(),
    );
    expect(resourcesOfStatement(dynamo[0] as Statement)).toEqual([{ "Fn::GetAtt": [tableId, "Arn"] }]);
    const [authorizerId] = authorizerFunction(template);
    expect(JSON.stringify(statementsOfFunction(template, authorizerId))).not.toMatch(/dynamodb:|sqs:/);
  });

  it("alarms on function errors, throttles, API 5xx, authorizer errors, failed invocations, OUTCOME_UNKNOWN, Bitrix24 limits and a portal move (PortalMoved)", () => {
    const [topicId] = onlyResource(template, "AWS::SNS::Topic");
    const alarms = Object.values(resourcesOf(template, "AWS::CloudWatch::Alarm")).map((a) => a.Properties);
    const [transferId] = transferFunction(template);
    const [authorizerId] = authorizerFunction(template);
    const [queueId] = onlyResource(template, "AWS::SQS::Queue");
    const [apiId] = onlyResource(template, "AWS::ApiGatewayV2::Api");
    const watched = alarms.map((a) => [a.Namespace, a.MetricName, JSON.stringify(a.Dimensions)]);
    expect(watched).toEqual(
      expect.arrayContaining([
        ["AWS/Lambda", "Errors", expect.stringContaining(transferId)],
        ["AWS/Lambda", "Throttles", expect.stringContaining(transferId)],
        ["AWS/ApiGateway", "5xx", expect.stringContaining(apiId)],
        ["AWS/Lambda", "Errors", expect.stringContaining(authorizerId)],
        ["AWS/SQS", "ApproximateNumberOfMessagesVisible", expect.stringContaining(queueId)],
        ["AWS/SQS", "NumberOfMessagesSent", expect.stringContaining(queueId)],
      ]),
    );
    expect(alarms).toHaveLength(10);
    const service = [{ Name: "service", Value: "b24-transfer" }];
    const bitrix24 = alarms.filter((a) => a.Namespace === "B24Transfer");
    expect(bitrix24).toEqual([
      expect.objectContaining({
        MetricName: "TransfersFailed",
        Statistic: "Sum",
        Dimensions: [{ Name: "code", Value: "OUTCOME_UNKNOWN" }, ...service],
        Threshold: 1,
      }),
      expect.objectContaining({
        MetricName: "Bitrix24OperatingShare",
        Statistic: "Maximum",
        Dimensions: service,
        Threshold: 70,
      }),
      expect.objectContaining({
        MetricName: "Bitrix24QueryLimitHits",
        Statistic: "Sum",
        Dimensions: service,
        Threshold: 1,
      }),
      // Issue 25, Medium 1: any followed move is worth a look.
      expect.objectContaining({
        MetricName: "PortalMoved",
        Statistic: "Sum",
        Dimensions: service,
        Threshold: 1,
      }),
    ]);
    for (const alarm of alarms) {
      expect(alarm).toMatchObject({
        ComparisonOperator: "GreaterThanOrEqualToThreshold",
        TreatMissingData: "notBreaching",
      });
    }
    // Every alarm mails the topic but the failure queue's growth, which FailedInvocations already reports.
    const silent = alarms.filter((a) => a.AlarmActions === undefined);
    expect(silent.map((a) => a.MetricName)).toEqual(["NumberOfMessagesSent"]);
    for (const alarm of alarms.filter((a) => a.AlarmActions !== undefined)) {
      expect(alarm.AlarmActions).toEqual([{ Ref: topicId }]);
    }
    // No e-mail configured, no subscription.
    template.resourceCountIs("AWS::SNS::Subscription", 0);
  });

  it("creates no schedule", () => {
    template.resourceCountIs("AWS::Events::Rule", 0);
  });

  it("outputs the API URL, the secrets to fill in and the failure queue", () => {
    const outputs = template.toJSON().Outputs;
    expect(Object.keys(outputs).sort()).toEqual(
      [
        "AlarmTopicArn",
        "AuthorizerFunctionName",
        "ClientTokensSecretName",
        "FailedInvocationsQueueUrl",
        "FailureSigningSecretArn",
        "PortalSecretMain",
        "TransferFunctionName",
        "TransferFunctionAlias",
        "DeploymentApplicationName",
        "TransfersUrl",
      ].sort(),
    );
    expect(JSON.stringify(outputs.TransfersUrl.Value)).toMatch(/execute-api.*\/transfers"/);
  });
});

describe("stack with every option", () => {
  let template: Template;
  beforeAll(() => {
    template = synthTemplate(FULL_CONFIG);
  });

  it("turns each schedule into a rule that invokes the function with its request", () => {
    const [transferId] = transferFunction(template);
    const [queueId] = onlyResource(template, "AWS::SQS::Queue");
    const rules = Object.values(resourcesOf(template, "AWS::Events::Rule"))
      .map((r) => r.Properties)
      .filter((r) => r.ScheduleExpression !== undefined);
    expect(rules).toHaveLength(FULL_CONFIG.schedules.length);
    const byExpression = Object.fromEntries(rules.map((r) => [r.ScheduleExpression, r]));
    for (const entry of FULL_CONFIG.schedules) {
      const rule = byExpression[entry.schedule] as { State: string; Targets: Record<string, unknown>[] };
      expect(rule.State).toBe("enabled" in entry && entry.enabled === false ? "DISABLED" : "ENABLED");
      expect(rule.Targets).toHaveLength(1);
      expect(rule.Targets[0]).toMatchObject({
        Arn: { Ref: liveAlias(template, transferId) },
        DeadLetterConfig: { Arn: { "Fn::GetAtt": [queueId, "Arn"] } },
        RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 900 },
      });
    }
  });

  it("delivers each schedule's request in the envelope the function recognises as a schedule", () => {
    // What EventBridge sends when a rule fires, run through the rule's input transformer.
    const fired = JSON.parse(
      readFileSync(new URL("../fixtures/events/eventbridge-scheduled-event.json", import.meta.url), "utf8"),
    );
    const rules = Object.values(resourcesOf(template, "AWS::Events::Rule")).filter(
      (r) => r.Properties.ScheduleExpression !== undefined,
    );
    for (const entry of FULL_CONFIG.schedules) {
      const rule = rules.find((r) => r.Properties.ScheduleExpression === entry.schedule);
      const [target] = (rule?.Properties.Targets ?? []) as { InputTransformer: InputTransformer }[];
      expect(target, entry.name).toBeDefined();
      const input = applyInputTransformer(
        (target as { InputTransformer: InputTransformer }).InputTransformer,
        fired,
      );
      expect(classifyInvocation(input, 256 * 1024)).toEqual({
        kind: "event",
        origin: { type: "schedule", name: entry.name, eventId: fired.id, time: fired.time },
        payload: entry.request,
      });
    }
  });

  it("routes Transfer Requested events from the configured sources to the function", () => {
    const [transferId] = transferFunction(template);
    const [queueId] = onlyResource(template, "AWS::SQS::Queue");
    const [, rule] = onlyResource(template, "AWS::Events::Rule", { EventPattern: Match.anyValue() });
    expect(rule.Properties.EventPattern).toEqual({
      "detail-type": [TRANSFER_DETAIL_TYPE],
      source: FULL_CONFIG.eventSources,
    });
    expect(rule.Properties.Targets).toEqual([
      expect.objectContaining({
        Arn: { Ref: liveAlias(template, transferId) },
        DeadLetterConfig: { Arn: { "Fn::GetAtt": [queueId, "Arn"] } },
        RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 900 },
      }),
    ]);
    // The whole event reaches the function, which reads the request from `detail`.
    expect((rule.Properties.Targets as object[])[0]).not.toHaveProperty("Input");
    expect((rule.Properties.Targets as object[])[0]).not.toHaveProperty("InputTransformer");
  });

  it("lets EventBridge invoke the function only from these rules, and write to the failure queue", () => {
    const [queueId] = onlyResource(template, "AWS::SQS::Queue");
    const ruleIds = Object.keys(resourcesOf(template, "AWS::Events::Rule"));
    const permissions = Object.values(resourcesOf(template, "AWS::Lambda::Permission")).filter(
      (p) => p.Properties.Principal === "events.amazonaws.com",
    );
    expect(permissions.map((p) => p.Properties.SourceArn).sort()).toEqual(
      ruleIds.map((id) => ({ "Fn::GetAtt": [id, "Arn"] })).sort(),
    );
    const [, policy] = onlyResource(template, "AWS::SQS::QueuePolicy");
    const sendStatements = (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement.filter(
      (s) => s.Effect === "Allow",
    );
    expect(sendStatements).toEqual(
      ruleIds.map((id) =>
        expect.objectContaining({
          Action: "sqs:SendMessage",
          Principal: { Service: "events.amazonaws.com" },
          Resource: { "Fn::GetAtt": [queueId, "Arn"] },
          Condition: { ArnEquals: { "aws:SourceArn": { "Fn::GetAtt": [id, "Arn"] } } },
        }),
      ),
    );
  });

  it("maps every portal to its secret, importing by name or complete ARN", () => {
    const [, fn] = transferFunction(template);
    const portals = (fn.Properties.Environment as { Variables: { PORTALS: unknown } }).Variables.PORTALS;
    const [createdId] = onlyResource(template, "AWS::SecretsManager::Secret", {
      Description: Match.stringLikeRegexp('portal "main"'),
    });
    expect(portals).toEqual({
      "Fn::Join": [
        "",
        [
          '{"main":"',
          { Ref: createdId },
          '","shop":"prod/b24/shop","eu-branch":"arn:aws:secretsmanager:eu-central-1:123456789012:secret:b24/eu-branch-AbC123"}',
        ],
      ],
    });
    // Imported secrets stay where they are: the stack creates only its own two and the signing key.
    template.resourceCountIs("AWS::SecretsManager::Secret", 3);
  });

  it("lets the function read exactly the configured portal secrets, never a wildcard", () => {
    const [transferId] = transferFunction(template);
    const statements = statementsOfFunction(template, transferId);
    const resources = secretsResources(statements).map((r) => JSON.stringify(r));
    const [createdId] = onlyResource(template, "AWS::SecretsManager::Secret", {
      Description: Match.stringLikeRegexp('portal "main"'),
    });
    expect(resources).toHaveLength(4);
    expect(resources).toContain(JSON.stringify({ Ref: createdId }));
    expect(resources).toContain(JSON.stringify({ Ref: signingKeyId(template) }));
    expect(resources).toContain(
      JSON.stringify("arn:aws:secretsmanager:eu-central-1:123456789012:secret:b24/eu-branch-AbC123"),
    );
    // A secret imported by name is matched by its name plus the six-character suffix AWS adds.
    expect(resources.find((r) => r.includes("prod/b24/shop"))).toMatch(/secret:prod\/b24\/shop-\?{6}"/);
    // The customer-managed key of the imported secret may decrypt only through Secrets Manager.
    expect(statements).toContainEqual(
      expect.objectContaining({
        Action: "kms:Decrypt",
        Resource: FULL_CONFIG.portals["eu-branch"].kmsKeyArn,
        Condition: { StringEquals: { "kms:ViaService": expect.anything() } },
      }),
    );
  });

  it("applies reserved concurrency, log level, cache TTLs and retention", () => {
    const [, fn] = transferFunction(template);
    expect(fn.Properties.ReservedConcurrentExecutions).toBe(5);
    expect(fn.Properties.Environment).toMatchObject({
      Variables: { SECRET_CACHE_TTL_SECONDS: "120", POWERTOOLS_LOG_LEVEL: "DEBUG" },
    });
    const [, authorizer] = onlyResource(template, "AWS::ApiGatewayV2::Authorizer");
    expect(authorizer.Properties.AuthorizerResultTtlInSeconds).toBe(60);
    const [, authorizerFn] = authorizerFunction(template);
    expect(authorizerFn.Properties.Environment).toMatchObject({
      Variables: { CLIENTS: '["example-crm","helpdesk"]' },
    });
    for (const group of Object.values(resourcesOf(template, "AWS::Logs::LogGroup"))) {
      expect(group.Properties.RetentionInDays).toBe(90);
    }
  });

  it("e-mails alarms when an address is configured", () => {
    const [topicId] = onlyResource(template, "AWS::SNS::Topic");
    const [, subscription] = onlyResource(template, "AWS::SNS::Subscription");
    expect(subscription.Properties).toEqual({
      Protocol: "email",
      Endpoint: "ops@example.com",
      TopicArn: { Ref: topicId },
    });
  });

  it("outputs one secret per portal", () => {
    const outputs = template.toJSON().Outputs;
    expect(outputs.PortalSecretShop.Value).toBe("prod/b24/shop");
    expect(outputs.PortalSecretEuBranch.Value).toBe(FULL_CONFIG.portals["eu-branch"].secret);
    expect(outputs.PortalSecretMain.Value).toEqual({ Ref: expect.any(String) });
  });
});

describe("no secretsmanager permission anywhere has a wildcard resource", () => {
  it.each([
    ["default", BASE_CONFIG],
    ["every option", FULL_CONFIG],
  ])("%s", (_name, config) => {
    const template = synthTemplate(config);
    const statements = Object.values(resourcesOf(template, "AWS::IAM::Policy")).flatMap(
      (policy) => (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement,
    );
    const secretStatements = statements.filter((s) =>
      actionsOf(s).some((a) => a.startsWith("secretsmanager:")),
    );
    expect(secretStatements.length).toBeGreaterThan(0);
    for (const statement of secretStatements) {
      expect(JSON.stringify(statement.Resource)).not.toContain("*");
      for (const action of actionsOf(statement)) {
        expect(["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]).toContain(action);
      }
    }
  });
});

describe("IAM authorization", () => {
  let template: Template;
  beforeAll(() => {
    template = synthTemplate({ ...BASE_CONFIG, authorization: "iam", clients: [] });
  });

  it("requires SigV4 on the route and deploys no authorizer, client secret or authorizer alarm", () => {
    const routes = Object.values(resourcesOf(template, "AWS::ApiGatewayV2::Route"));
    expect(routes.map((route) => route.Properties)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ RouteKey: "POST /transfers", AuthorizationType: "AWS_IAM" }),
        expect.objectContaining({ RouteKey: "GET /transfers/chats/{chatId}", AuthorizationType: "AWS_IAM" }),
      ]),
    );
    expect(routes).toHaveLength(2);
    template.resourceCountIs("AWS::ApiGatewayV2::Authorizer", 0);
    template.resourceCountIs("AWS::Lambda::Function", 1);
    // The portal secret and the failure queue's signing key; no client-token secret.
    template.resourceCountIs("AWS::SecretsManager::Secret", 2);
    template.resourceCountIs("AWS::CloudWatch::Alarm", 9);
    template.resourceCountIs("AWS::CodeDeploy::DeploymentGroup", 1);
    expect(template.toJSON().Outputs.ClientTokensSecretName).toBeUndefined();
  });
});

describe("EventBridge Scheduler and a custom event bus", () => {
  let template: Template;
  beforeAll(() => {
    template = synthTemplate({
      ...BASE_CONFIG,
      scheduleService: "scheduler",
      eventBusName: "crm-bus",
      eventSources: ["com.example.crm"],
      schedules: [
        {
          name: "night-queue",
          schedule: "cron(0 22 ? * MON-FRI *)",
          timezone: "Europe/Berlin",
          request: { transfers: [{ chatId: 1, queueId: 2 }] },
        },
      ],
    });
  });

  it("creates a Scheduler schedule instead of a rule, with the same payload and the execution id", () => {
    const [transferId] = transferFunction(template);
    const [queueId] = onlyResource(template, "AWS::SQS::Queue");
    const [, schedule] = onlyResource(template, "AWS::Scheduler::Schedule");
    expect(schedule.Properties).toMatchObject({
      ScheduleExpression: "cron(0 22 ? * MON-FRI *)",
      ScheduleExpressionTimezone: "Europe/Berlin",
      State: "ENABLED",
      Target: {
        Arn: { Ref: liveAlias(template, transferId) },
        DeadLetterConfig: { Arn: { "Fn::GetAtt": [queueId, "Arn"] } },
        RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 900 },
      },
    });
    // Scheduler fills its context attributes in the input; with them in place the function sees a schedule.
    const input = JSON.parse(
      (schedule.Properties.Target as { Input: string }).Input.replace(
        "<aws.scheduler.execution-id>",
        "exec-1",
      ).replace("<aws.scheduler.scheduled-time>", "2026-11-25T21:00:00Z"),
    );
    expect(classifyInvocation(input, 256 * 1024)).toEqual({
      kind: "event",
      origin: { type: "schedule", name: "night-queue", eventId: "exec-1", time: "2026-11-25T21:00:00Z" },
      payload: { transfers: [{ chatId: 1, queueId: 2 }] },
    });
    expect(
      Object.values(resourcesOf(template, "AWS::Events::Rule")).filter(
        (r) => r.Properties.ScheduleExpression,
      ),
    ).toHaveLength(0);
  });

  it("listens for Transfer Requested events on the configured bus", () => {
    const [, rule] = onlyResource(template, "AWS::Events::Rule", { EventPattern: Match.anyValue() });
    expect(rule.Properties.EventBusName).toBe("crm-bus");
  });
});

describe("observability", () => {
  it("has a dashboard with the function's EMF metrics, errors, API and failure queue", () => {
    const template = synthTemplate(BASE_CONFIG);
    const [, dashboard] = onlyResource(template, "AWS::CloudWatch::Dashboard");
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    for (const needle of [
      "TransfersSucceeded",
      "TransfersFailed",
      "Bitrix24Retries",
      "ColdStart",
      "ApproximateNumberOfMessagesVisible",
      "5xx",
    ]) {
      expect(body, needle).toContain(needle);
    }
    expect(body).toContain("B24Transfer");
  });

  it("turns on X-Ray active tracing only when configured", () => {
    const [, plain] = transferFunction(synthTemplate(BASE_CONFIG));
    expect(plain.Properties.TracingConfig).toBeUndefined();
    const [, traced] = transferFunction(synthTemplate({ ...BASE_CONFIG, tracing: true }));
    expect(traced.Properties.TracingConfig).toEqual({ Mode: "Active" });
  });
});

describe("OAuth portals", () => {
  const config = {
    ...FULL_CONFIG,
    portals: {
      main: { source: "create" as const },
      app: { source: "create" as const, auth: "oauth" as const },
      shop: { source: "import" as const, secret: "prod/b24/shop", auth: "oauth" as const },
      "eu-branch": {
        source: "import" as const,
        auth: "oauth" as const,
        secret: "arn:aws:secretsmanager:eu-central-1:123456789012:secret:b24/eu-branch-AbC123",
        kmsKeyArn: "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
      },
    },
  };
  let template: Template;
  beforeAll(() => {
    template = synthTemplate(config);
  });

  it("tells the function which portals are OAuth", () => {
    const [, fn] = transferFunction(template);
    const { Variables } = fn.Properties.Environment as { Variables: Record<string, string> };
    expect(JSON.parse(Variables.OAUTH_PORTALS as string).sort()).toEqual(["app", "eu-branch", "shop"]);
  });

  it("may write token pairs only to the OAuth portals' secrets, without UpdateSecret", () => {
    const [id] = transferFunction(template);
    const statements = statementsOfFunction(template, id);
    const writes = statements.filter((s) => actionsOf(s).includes("secretsmanager:PutSecretValue"));
    expect(writes).toHaveLength(1);
    const write = writes[0] as Statement;
    expect(actionsOf(write).sort()).toEqual([
      "secretsmanager:DescribeSecret",
      "secretsmanager:PutSecretValue",
      "secretsmanager:UpdateSecretVersionStage",
    ]);
    const resources = JSON.stringify(resourcesOfStatement(write));
    expect(resources).toContain("Portalapp");
    expect(resources).toContain("secret:prod/b24/shop-??????");
    expect(resources).toContain("secret:b24/eu-branch-AbC123");
    expect(resources).not.toContain("Portalmain");
    expect(resources).not.toContain('"*"');
    expect(statements.some((s) => actionsOf(s).includes("secretsmanager:UpdateSecret"))).toBe(false);
  });

  it("may create data keys for an OAuth secret's KMS key, through Secrets Manager only", () => {
    const [id] = transferFunction(template);
    const generate = statementsOfFunction(template, id).filter((s) =>
      actionsOf(s).includes("kms:GenerateDataKey"),
    );
    expect(generate).toHaveLength(1);
    expect(JSON.stringify(generate[0])).toContain("secretsmanager.eu-central-1.amazonaws.com");
  });
});

function signingKeyId(template: Template): string {
  return onlyResource(template, "AWS::SecretsManager::Secret", {
    Description: Match.stringLikeRegexp("signing the failure queue"),
  })[0];
}
