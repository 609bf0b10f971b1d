import type { Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { BASE_CONFIG, FULL_CONFIG, synthTemplate } from "./synth.ts";

/**
 * Issue 25, Medium 2 (infra half): any principal with sqs:SendMessage could add items that the replay
 * tool then ran. The queue now denies every sender but the function's role, the Scheduler roles and
 * EventBridge on behalf of the stack's own rules; the key that signs parked items is readable by the
 * function and the named replayers only.
 */
type Resource = { Type: string; Properties: Record<string, unknown> };
interface Statement {
  Sid?: string;
  Effect: string;
  Principal?: unknown;
  Action: string | string[];
  Condition?: Record<string, Record<string, unknown[]>>;
}
const resources = (template: Template, type: string) =>
  Object.entries(template.findResources(type)) as [string, Resource][];
const statementsOf = (resource: Resource, key: string) =>
  (resource.Properties[key] as { Statement: Statement[] }).Statement;

function transferRole(template: Template): string {
  const [[, fn]] = resources(template, "AWS::Lambda::Function").filter(([, r]) =>
    /hands a Bitrix24/.test(String(r.Properties.Description)),
  ) as [[string, Resource]];
  return (fn.Properties.Role as { "Fn::GetAtt": string[] })["Fn::GetAtt"][0] as string;
}

function denyStatement(template: Template, type: string, policyKey: string, sid: string): Statement {
  const found = resources(template, type)
    .flatMap(([, r]) => statementsOf(r, policyKey))
    .filter((s) => s.Sid === sid);
  expect(found).toHaveLength(1);
  return found[0] as Statement;
}

describe("Medium 2: only the function and its rules may write to the failure queue", () => {
  let template: Template;
  beforeAll(() => {
    template = synthTemplate(FULL_CONFIG);
  });

  it("denies sqs:SendMessage to every principal but the function's and Scheduler's roles, and EventBridge for the stack's rules", () => {
    const deny = denyStatement(
      template,
      "AWS::SQS::QueuePolicy",
      "PolicyDocument",
      "OnlyTheFunctionAndItsRulesSend",
    );
    expect(deny).toMatchObject({ Effect: "Deny", Principal: { AWS: "*" }, Action: "sqs:SendMessage" });
    const condition = deny.Condition?.ArnNotEqualsIfExists ?? {};
    expect(condition["aws:PrincipalArn"]).toEqual([{ "Fn::GetAtt": [transferRole(template), "Arn"] }]);
    // Two scheduled rules and the event rule: each may send its own dead letters, nothing else may.
    const rules = resources(template, "AWS::Events::Rule").map(([id]) => ({ "Fn::GetAtt": [id, "Arn"] }));
    expect(rules).toHaveLength(4);
    expect(condition["aws:SourceArn"]).toEqual(expect.arrayContaining(rules));
    expect(condition["aws:SourceArn"]).toHaveLength(rules.length);
  });

  it("lets the Scheduler's role send too when schedules run on EventBridge Scheduler", () => {
    const scheduler = synthTemplate({ ...FULL_CONFIG, scheduleService: "scheduler" });
    const deny = denyStatement(
      scheduler,
      "AWS::SQS::QueuePolicy",
      "PolicyDocument",
      "OnlyTheFunctionAndItsRulesSend",
    );
    const senders = JSON.stringify(deny.Condition?.ArnNotEqualsIfExists?.["aws:PrincipalArn"]);
    expect(senders).toContain(transferRole(scheduler));
    expect(senders).toMatch(/SchedulerRoleForTarget/);
  });

  it("lets only the function and the secretReaders read the signing key, whatever their IAM policies say", () => {
    const reader = "arn:aws:iam::123456789012:role/ops-admin";
    const withReader = synthTemplate({ ...BASE_CONFIG, secretReaders: [reader] });
    const deny = denyStatement(
      withReader,
      "AWS::SecretsManager::ResourcePolicy",
      "ResourcePolicy",
      "OnlyTheFunctionAndTheReplayersRead",
    );
    expect(deny).toMatchObject({
      Effect: "Deny",
      Principal: { AWS: "*" },
      Action: "secretsmanager:GetSecretValue",
    });
    expect(deny.Condition?.ArnNotEquals?.["aws:PrincipalArn"]).toEqual([
      { "Fn::GetAtt": [transferRole(withReader), "Arn"] },
      reader,
    ]);
  });
});
