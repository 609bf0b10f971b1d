import { Match, type Template } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import type { TransferConfigInput } from "../../infra/config.ts";
import { BASE_CONFIG, FULL_CONFIG, synthTemplate } from "./synth.ts";

/**
 * Safe deployments (docs/deploy.md): each deploy publishes a version, every invoker calls the alias
 * `live`, and CodeDeploy shifts `live` to the new version gradually, rolling back on the stack's alarms.
 */

type Resource = { Type: string; Properties: Record<string, unknown>; [key: string]: unknown };
type Resources = Record<string, Resource>;
const resourcesOf = (t: Template, type: string) => t.findResources(type) as Resources;
const ref = (id: string) => ({ Ref: id });

interface LambdaParts {
  functionId: string;
  aliasId: string;
  versionId: string;
}

/** Each function with its `live` alias and the version the alias points at. */
function lambdas(t: Template): { transfer: LambdaParts; authorizer: LambdaParts | undefined } {
  const functions = resourcesOf(t, "AWS::Lambda::Function");
  const aliases = Object.entries(resourcesOf(t, "AWS::Lambda::Alias"));
  const partsOf = (description: RegExp): LambdaParts | undefined => {
    const functionId = Object.keys(functions).find((id) =>
      description.test(String(functions[id]?.Properties.Description)),
    );
    if (!functionId) return undefined;
    const found = aliases.filter(
      ([, a]) => JSON.stringify(a.Properties.FunctionName) === `{"Ref":"${functionId}"}`,
    );
    expect(found, `one alias of ${functionId}`).toHaveLength(1);
    const [aliasId, alias] = found[0] as [string, Resource];
    expect(alias.Properties.Name).toBe("live");
    const [versionId, attribute] = (alias.Properties.FunctionVersion as { "Fn::GetAtt": [string, string] })[
      "Fn::GetAtt"
    ];
    expect(attribute).toBe("Version");
    expect(t.toJSON().Resources[versionId]).toMatchObject({
      Type: "AWS::Lambda::Version",
      Properties: { FunctionName: ref(functionId) },
    });
    return { functionId, aliasId, versionId };
  };
  return { transfer: present(partsOf(/hands a Bitrix24/)), authorizer: partsOf(/authorizer/) };
}

function present<T>(value: T | undefined): T {
  expect(value).toBeDefined();
  return value as T;
}

const CONFIGS: [string, TransferConfigInput][] = [
  ["the default settings", BASE_CONFIG],
  ["every option with scheduled rules", FULL_CONFIG],
  ["EventBridge Scheduler", { ...FULL_CONFIG, scheduleService: "scheduler" }],
  ["IAM authorization", { ...FULL_CONFIG, authorization: "iam", clients: [] }],
];

describe.each(CONFIGS)("every invoker targets the live alias, with %s", (_name, config) => {
  const template = synthTemplate(config);
  const { transfer, authorizer } = lambdas(template);
  const aliasRefs = [transfer, authorizer].filter((p) => p !== undefined).map((p) => ref(p.aliasId));
  const transferAlias = ref(transfer.aliasId);

  it("never references a function's own ARN, which would invoke $LATEST", () => {
    const text = JSON.stringify(template.toJSON());
    for (const { functionId } of [transfer, authorizer].filter((p) => p !== undefined)) {
      expect(text).not.toContain(`{"Fn::GetAtt":["${functionId}","Arn"]}`);
    }
  });

  it("gives every Lambda permission on an alias, never on the function", () => {
    const permissions = Object.values(resourcesOf(template, "AWS::Lambda::Permission"));
    expect(permissions.length).toBeGreaterThan(0);
    for (const permission of permissions)
      expect(aliasRefs).toContainEqual(permission.Properties.FunctionName);
  });

  it("integrates the API route with the transfer alias and the authorizer with its own", () => {
    const [integration] = Object.values(resourcesOf(template, "AWS::ApiGatewayV2::Integration"));
    expect(integration?.Properties.IntegrationUri).toEqual(transferAlias);
    const authorizers = Object.values(resourcesOf(template, "AWS::ApiGatewayV2::Authorizer"));
    expect(authorizers).toHaveLength(authorizer ? 1 : 0);
    for (const a of authorizers) {
      expect(JSON.stringify(a.Properties.AuthorizerUri)).toContain(
        JSON.stringify(ref(authorizer?.aliasId ?? "")),
      );
    }
  });

  it("targets the transfer alias from every rule and schedule, and lets Scheduler invoke that alias only", () => {
    const ruleTargets = Object.values(resourcesOf(template, "AWS::Events::Rule")).flatMap(
      (rule) => rule.Properties.Targets as { Arn: unknown }[],
    );
    const scheduleTargets = Object.values(resourcesOf(template, "AWS::Scheduler::Schedule")).map(
      (schedule) => schedule.Properties.Target as { Arn: unknown },
    );
    const expected = (config.schedules?.length ?? 0) + ((config.eventSources?.length ?? 0) > 0 ? 1 : 0);
    expect(ruleTargets.length + scheduleTargets.length).toBe(expected);
    for (const target of [...ruleTargets, ...scheduleTargets]) expect(target.Arn).toEqual(transferAlias);
    const invokeResources = Object.values(resourcesOf(template, "AWS::IAM::Policy"))
      .flatMap(
        (p) =>
          (p.Properties.PolicyDocument as { Statement: { Action: unknown; Resource: unknown }[] }).Statement,
      )
      .filter((s) => JSON.stringify(s.Action).includes("lambda:InvokeFunction"))
      .flatMap((s) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]));
    expect(invokeResources).toHaveLength(scheduleTargets.length > 0 ? 1 : 0);
    for (const resource of invokeResources) expect(resource).toEqual(transferAlias);
  });

  it("applies the retry and failure-queue settings to asynchronous invocations of the alias", () => {
    const [invokeConfig] = Object.values(resourcesOf(template, "AWS::Lambda::EventInvokeConfig"));
    expect(invokeConfig?.Properties.Qualifier).toEqual({
      "Fn::Select": [7, { "Fn::Split": [":", transferAlias] }],
    });
  });
});

describe("rollback alarms", () => {
  const template = synthTemplate(FULL_CONFIG);
  const { transfer, authorizer: maybeAuthorizer } = lambdas(template);
  const authorizer = present(maybeAuthorizer);
  const alarms = resourcesOf(template, "AWS::CloudWatch::Alarm");
  const groups = resourcesOf(template, "AWS::CodeDeploy::DeploymentGroup");
  const [queueId] = Object.keys(resourcesOf(template, "AWS::SQS::Queue"));

  /** The alarms a deployment group watches, by what each one measures. */
  function watchedBy(groupName: string) {
    const group = Object.entries(groups).find(([, g]) => g.Properties.DeploymentGroupName === groupName);
    expect(group, groupName).toBeDefined();
    const [groupId, { Properties }] = group as [string, Resource];
    expect(Properties).toMatchObject({
      AlarmConfiguration: { Enabled: true },
      AutoRollbackConfiguration: {
        Enabled: true,
        Events: expect.arrayContaining([
          "DEPLOYMENT_FAILURE",
          "DEPLOYMENT_STOP_ON_ALARM",
          "DEPLOYMENT_STOP_ON_REQUEST",
        ]),
      },
      DeploymentStyle: { DeploymentType: "BLUE_GREEN", DeploymentOption: "WITH_TRAFFIC_CONTROL" },
    });
    const names = (Properties.AlarmConfiguration as { Alarms: { Name: { Ref: string } }[] }).Alarms;
    return {
      groupId,
      watched: names.map(({ Name }) => {
        const alarm = alarms[Name.Ref]?.Properties as Record<string, unknown>;
        // A deploy is judged within minutes: one-minute periods, any occurrence.
        expect(alarm).toMatchObject({ Period: 60, Threshold: 1, EvaluationPeriods: 1 });
        return { metric: `${alarm.Namespace}/${alarm.MetricName}`, dimensions: alarm.Dimensions };
      }),
    };
  }

  const newVersionOf = ({ functionId, versionId }: LambdaParts) => [
    { Name: "ExecutedVersion", Value: { "Fn::GetAtt": [versionId, "Version"] } },
    { Name: "FunctionName", Value: ref(functionId) },
    { Name: "Resource", Value: { "Fn::Join": ["", [ref(functionId), ":live"]] } },
  ];

  it("roll back the transfer function on its new version's errors, throttles, OUTCOME_UNKNOWN and failure-queue growth", () => {
    const { watched } = watchedBy("transfer");
    expect(watched).toEqual([
      { metric: "AWS/Lambda/Errors", dimensions: newVersionOf(transfer) },
      {
        metric: "AWS/Lambda/Throttles",
        dimensions: [
          { Name: "FunctionName", Value: ref(transfer.functionId) },
          { Name: "Resource", Value: { "Fn::Join": ["", [ref(transfer.functionId), ":live"]] } },
        ],
      },
      {
        metric: "AWS/SQS/NumberOfMessagesSent",
        dimensions: [{ Name: "QueueName", Value: { "Fn::GetAtt": [queueId, "QueueName"] } }],
      },
      {
        metric: "B24Transfer/TransfersFailed",
        dimensions: [
          { Name: "code", Value: "OUTCOME_UNKNOWN" },
          { Name: "service", Value: "b24-transfer" },
        ],
      },
    ]);
  });

  it("roll back the authorizer on its new version's errors", () => {
    expect(watchedBy("authorizer").watched).toEqual([
      { metric: "AWS/Lambda/Errors", dimensions: newVersionOf(authorizer) },
    ]);
  });

  it("are what CloudFormation consults: each alias is updated through its CodeDeploy group", () => {
    const [applicationId, application] = Object.entries(
      resourcesOf(template, "AWS::CodeDeploy::Application"),
    )[0] as [string, Resource];
    expect(application.Properties).toEqual({ ApplicationName: "Test", ComputePlatform: "Lambda" });
    for (const [name, parts] of [
      ["transfer", transfer],
      ["authorizer", authorizer],
    ] as const) {
      const alias = template.toJSON().Resources[parts.aliasId];
      expect(alias.UpdatePolicy).toEqual({
        CodeDeployLambdaAliasUpdate: {
          ApplicationName: ref(applicationId),
          DeploymentGroupName: ref(watchedBy(name).groupId),
        },
      });
    }
  });
});

describe("deployment setting", () => {
  const groupConfigs = (t: Template) =>
    Object.values(resourcesOf(t, "AWS::CodeDeploy::DeploymentGroup")).map(
      (g) => g.Properties.DeploymentConfigName,
    );

  it("shifts 10 % first and the rest after 5 minutes by default", () => {
    const template = synthTemplate(BASE_CONFIG);
    const [[configId, config]] = Object.entries(
      resourcesOf(template, "AWS::CodeDeploy::DeploymentConfig"),
    ) as [[string, Resource]];
    expect(config.Properties).toEqual({
      ComputePlatform: "Lambda",
      TrafficRoutingConfig: {
        Type: "TimeBasedCanary",
        TimeBasedCanary: { CanaryPercentage: 10, CanaryInterval: 5 },
      },
    });
    expect(groupConfigs(template)).toEqual([ref(configId), ref(configId)]);
  });

  it("shifts a share every interval when linear", () => {
    const template = synthTemplate({
      ...BASE_CONFIG,
      deployment: { type: "linear", percent: 25, minutes: 3 },
    });
    template.hasResourceProperties("AWS::CodeDeploy::DeploymentConfig", {
      TrafficRoutingConfig: {
        Type: "TimeBasedLinear",
        TimeBasedLinear: { LinearPercentage: 25, LinearInterval: 3 },
      },
    });
  });

  it("uses CodeDeploy's all-at-once configuration, alarms still wired, when asked", () => {
    const template = synthTemplate({ ...BASE_CONFIG, deployment: { type: "all-at-once" } });
    template.resourceCountIs("AWS::CodeDeploy::DeploymentConfig", 0);
    expect(groupConfigs(template)).toEqual([
      "CodeDeployDefault.LambdaAllAtOnce",
      "CodeDeployDefault.LambdaAllAtOnce",
    ]);
    template.hasResourceProperties("AWS::CodeDeploy::DeploymentGroup", {
      AlarmConfiguration: { Enabled: true, Alarms: Match.anyValue() },
    });
  });

  it("publishes a new version when the function changes, and keeps the old ones for a manual rollback", () => {
    const versionOf = (input: TransferConfigInput) => {
      const template = synthTemplate(input);
      const { transfer } = lambdas(template);
      return { id: transfer.versionId, resource: template.toJSON().Resources[transfer.versionId] };
    };
    const base = versionOf(BASE_CONFIG);
    expect(versionOf(BASE_CONFIG).id).toBe(base.id);
    expect(versionOf({ ...BASE_CONFIG, logLevel: "DEBUG" }).id).not.toBe(base.id);
    expect(base.resource.DeletionPolicy).toBe("Retain");
  });

  it("provisions concurrency on the transfer alias only when configured", () => {
    const alias = (input: TransferConfigInput) => {
      const template = synthTemplate(input);
      const { transfer, authorizer } = lambdas(template);
      const resources = template.toJSON().Resources;
      return [resources[transfer.aliasId].Properties, resources[present(authorizer).aliasId].Properties];
    };
    const [transfer, authorizer] = alias({ ...BASE_CONFIG, provisionedConcurrency: 2 });
    expect(transfer.ProvisionedConcurrencyConfig).toEqual({ ProvisionedConcurrentExecutions: 2 });
    expect(authorizer.ProvisionedConcurrencyConfig).toBeUndefined();
    expect(alias(BASE_CONFIG)[0].ProvisionedConcurrencyConfig).toBeUndefined();
  });
});
