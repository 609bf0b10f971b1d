import { Match, type Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { BASE_CONFIG, FULL_CONFIG, synthTemplate } from "./synth.ts";

/** Issue 14, findings 6 and 7, read from the synthesized template. */

type Resource = { Type: string; Properties: Record<string, unknown> };
interface Statement {
  Sid?: string;
  Effect: string;
  Principal?: unknown;
  Action: string | string[];
  Condition?: Record<string, Record<string, unknown>>;
}

const resources = (template: Template, type: string) =>
  Object.entries(template.findResources(type)) as [string, Resource][];
const actions = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);

function functionRole(template: Template, description: RegExp): string {
  const found = resources(template, "AWS::Lambda::Function").filter(([, r]) =>
    description.test(String(r.Properties.Description)),
  );
  expect(found).toHaveLength(1);
  return ((found[0] as [string, Resource])[1].Properties.Role as { "Fn::GetAtt": string[] })[
    "Fn::GetAtt"
  ][0] as string;
}

/** A principal in a key policy: the function role's ARN, or the account root. */
function principalsOf(statement: Statement): unknown[] {
  const aws = (statement.Principal as { AWS?: unknown } | undefined)?.AWS;
  return Array.isArray(aws) ? aws : [aws];
}

const isAccountRoot = (principal: unknown) => JSON.stringify(principal).includes(":root");

describe("finding 6: a dedicated event bus whose policy names the publishers", () => {
  let template: Template;
  beforeAll(() => {
    template = synthTemplate(FULL_CONFIG);
  });

  it("puts the rule on a bus of its own", () => {
    const buses = resources(template, "AWS::Events::EventBus");
    expect(buses).toHaveLength(1);
    const [busId] = buses[0] as [string, Resource];
    const [, rule] =
      resources(template, "AWS::Events::Rule").find(([, r]) => r.Properties.EventPattern) ?? [];
    expect(rule?.Properties.EventBusName).toEqual({ Ref: busId });
  });

  it("allows the publishers to put events, and denies everyone else, the account's own principals included", () => {
    const statements = resources(template, "AWS::Events::EventBusPolicy").map(
      ([, policy]) => policy.Properties.Statement as Statement,
    );
    const allow = statements.find((s) => s.Effect === "Allow");
    const deny = statements.find((s) => s.Effect === "Deny");
    expect(allow).toMatchObject({ Action: "events:PutEvents" });
    expect(JSON.stringify(allow?.Principal)).toContain("arn:aws:iam::123456789012:role/crm-publisher");
    expect(JSON.stringify(allow?.Principal)).toContain("210987654321");
    expect(deny).toMatchObject({
      Action: "events:PutEvents",
      Principal: { AWS: "*" },
      Condition: {
        ArnNotLike: { "aws:PrincipalArn": ["arn:aws:iam::123456789012:role/crm-publisher"] },
        StringNotEquals: { "aws:PrincipalAccount": ["210987654321"] },
      },
    });
    expect(statements).toHaveLength(2);
  });

  it("keeps an existing bus when one is named explicitly, and creates none", () => {
    const named = synthTemplate({
      ...BASE_CONFIG,
      eventSources: ["com.example.crm"],
      eventBusName: "default",
    });
    named.resourceCountIs("AWS::Events::EventBus", 0);
    named.resourceCountIs("AWS::Events::EventBusPolicy", 0);
    named.hasResourceProperties("AWS::Events::Rule", {
      EventPattern: Match.anyValue(),
      EventBusName: "default",
    });
  });
});

describe("finding 7: created secrets under a customer-managed key only the functions may decrypt with", () => {
  let template: Template;
  let keyPolicy: Statement[];
  beforeAll(() => {
    template = synthTemplate(FULL_CONFIG);
    const keys = resources(template, "AWS::KMS::Key");
    expect(keys).toHaveLength(1);
    keyPolicy = ((keys[0] as [string, Resource])[1].Properties.KeyPolicy as { Statement: Statement[] })
      .Statement;
  });

  it("rotates the key and keeps it with the retained secrets", () => {
    const [[, key]] = resources(template, "AWS::KMS::Key") as [
      [string, Resource & { DeletionPolicy?: string }],
    ];
    expect(key.Properties.EnableKeyRotation).toBe(true);
    expect(key.DeletionPolicy).toBe("Retain");
  });

  it("encrypts the created portal and client-token secrets and the failure-queue signing key with it, and leaves imported ones alone", () => {
    const [keyId] = resources(template, "AWS::KMS::Key")[0] as [string, Resource];
    const secrets = resources(template, "AWS::SecretsManager::Secret");
    expect(secrets).toHaveLength(3);
    for (const [, secret] of secrets)
      expect(secret.Properties.KmsKeyId).toEqual({ "Fn::GetAtt": [keyId, "Arn"] });
  });

  it("lets only the two function roles decrypt, only through Secrets Manager", () => {
    const decrypting = keyPolicy.filter(
      (s) => s.Effect === "Allow" && actions(s).some((a) => /^kms:(Decrypt|\*|ReEncrypt)/.test(a)),
    );
    const principals = decrypting.flatMap(principalsOf);
    const transferRole = functionRole(template, /hands a Bitrix24/);
    const authorizerRole = functionRole(template, /authorizer/);
    expect(new Set(principals.map((p) => JSON.stringify(p))).size).toBe(2);
    expect(principals).toEqual(
      expect.arrayContaining([
        { "Fn::GetAtt": [transferRole, "Arn"] },
        { "Fn::GetAtt": [authorizerRole, "Arn"] },
      ]),
    );
    expect(principals.some(isAccountRoot)).toBe(false);
    for (const statement of decrypting) {
      expect(JSON.stringify(statement.Condition?.StringEquals?.["kms:ViaService"])).toContain(
        "secretsmanager.",
      );
    }
  });

  it("lets the account administer the key and write secrets through Secrets Manager, never read them", () => {
    const forAccount = keyPolicy.filter((s) => principalsOf(s).some(isAccountRoot));
    expect(forAccount.length).toBeGreaterThan(0);
    for (const statement of forAccount) {
      for (const action of actions(statement))
        expect(action).not.toMatch(/^kms:(\*|Decrypt|ReEncrypt|Encrypt)/);
    }
    const writes = forAccount.find((s) => actions(s).includes("kms:GenerateDataKey"));
    expect(JSON.stringify(writes?.Condition)).toContain("secretsmanager.");
  });

  it("Low 3: grants nobody kms:CreateGrant, so no principal can grant itself decrypt around the key policy", () => {
    const allows = (pattern: string, action: string) =>
      new RegExp(
        `^${pattern
          .replace(/[.+^${}()|[\]\\]/g, "\\$&")
          .replace(/\*/g, ".*")
          .replace(/\?/g, ".")}$`,
        "i",
      ).test(action);
    expect(allows("kms:Create*", "kms:CreateGrant")).toBe(true);
    const granting = keyPolicy.filter(
      (s) =>
        s.Effect === "Allow" &&
        actions(s).some((a) => allows(a, "kms:CreateGrant")) &&
        JSON.stringify(s.Condition ?? {}).indexOf("kms:GrantIsForAWSResource") < 0,
    );
    expect(granting).toEqual([]);
    // The account still administers the key: aliases, policy, rotation, deletion.
    const admin = keyPolicy.find((s) => s.Sid === "AccountAdministersTheKey") as Statement;
    expect(actions(admin)).toEqual(
      expect.arrayContaining(["kms:CreateAlias", "kms:Put*", "kms:ScheduleKeyDeletion"]),
    );
  });

  it("lets the named secretReaders decrypt too, through Secrets Manager only", () => {
    const reader = "arn:aws:iam::123456789012:role/ops-admin";
    const withReaders = synthTemplate({ ...BASE_CONFIG, secretReaders: [reader] });
    const [, key] = resources(withReaders, "AWS::KMS::Key")[0] as [string, Resource];
    const statements = (key.Properties.KeyPolicy as { Statement: Statement[] }).Statement;
    const readers = statements.filter((s) => principalsOf(s).includes(reader));
    expect(readers).toHaveLength(1);
    expect(actions(readers[0] as Statement)).toEqual(["kms:Decrypt"]);
    expect(JSON.stringify((readers[0] as Statement).Condition)).toContain("secretsmanager.");
  });

  it('uses the AWS-managed key when secretsKey is "aws-managed", and creates no key it would not use', () => {
    const awsManaged = synthTemplate({ ...BASE_CONFIG, secretsKey: "aws-managed" });
    awsManaged.resourceCountIs("AWS::KMS::Key", 0);
    for (const [, secret] of resources(awsManaged, "AWS::SecretsManager::Secret"))
      expect(secret.Properties.KmsKeyId).toBeUndefined();
    const nothingCreated = synthTemplate({
      ...BASE_CONFIG,
      authorization: "iam",
      clients: [],
      portals: { main: { source: "import", secret: "prod/b24/main" } },
    });
    nothingCreated.resourceCountIs("AWS::KMS::Key", 0);
  });
});
