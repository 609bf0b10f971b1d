import { readFileSync } from "node:fs";
import { join } from "node:path";
import { App, Stack, Validations } from "aws-cdk-lib";
import { Annotations, Match } from "aws-cdk-lib/assertions";
import { Queue } from "aws-cdk-lib/aws-sqs";
import { FAIL_SYNTH_ON_VALIDATION_ERRORS_CONTEXT, VALIDATION_REPORT_FILE } from "aws-cdk-lib/cx-api";
import type { IConstruct } from "constructs";
import { describe, expect, it, vi } from "vitest";
import { addNagChecks } from "../../infra/nag.ts";
import { BASE_CONFIG, createStack, FULL_CONFIG } from "./synth.ts";

/**
 * cdk-nag 3 runs as a policy-validation plugin: its findings are not Annotations, they are in the
 * validation report of the synthesized assembly, so that is what these tests read.
 */

interface Finding {
  plugin: string;
  rule: string;
  severity: string;
  paths: string[];
}

interface ValidationReport {
  pluginReports: {
    pluginName: string;
    violations: { ruleName: string; severity: string; violatingConstructs: { constructPath: string }[] }[];
  }[];
}

/** Synthesizes and returns every unacknowledged finding, of any plugin and any severity. */
function findings(app: App): Finding[] {
  const assembly = app.synth();
  const report: ValidationReport = JSON.parse(
    readFileSync(join(assembly.directory, VALIDATION_REPORT_FILE), "utf8"),
  );
  return report.pluginReports.flatMap((plugin) =>
    plugin.violations.map((v) => ({
      plugin: plugin.pluginName,
      rule: v.ruleName,
      severity: v.severity,
      paths: v.violatingConstructs.map((c) => c.constructPath),
    })),
  );
}

/** Report instead of throwing, so a failing test lists the findings. */
const REPORT_ONLY = { [FAIL_SYNTH_ON_VALIDATION_ERRORS_CONTEXT]: false };

function nagApp(config: Parameters<typeof createStack>[0]) {
  return createStack(config, { nag: true, context: REPORT_ONLY });
}

describe("cdk-nag AwsSolutions", () => {
  it.each([
    ["the default settings", BASE_CONFIG],
    ["every option", FULL_CONFIG],
    ["IAM authorization", { ...BASE_CONFIG, authorization: "iam" as const, clients: [] }],
    [
      "OAuth portals",
      {
        ...FULL_CONFIG,
        portals: {
          ...FULL_CONFIG.portals,
          main: { source: "create" as const, auth: "oauth" as const },
          shop: { source: "import" as const, secret: "prod/b24/shop", auth: "oauth" as const },
        },
      },
    ],
    [
      "X-Ray tracing and EventBridge Scheduler",
      { ...FULL_CONFIG, tracing: true, scheduleService: "scheduler" as const },
    ],
  ])("finds nothing unacknowledged with %s", (_name, config) => {
    expect(findings(nagApp(config).app)).toEqual([]);
  });

  it("fails synthesis on a finding, with the checks this project registers", () => {
    // The control that keeps the test above honest: an obviously non-compliant queue must be reported.
    const app = new App();
    const stack = new Stack(app, "Control");
    new Queue(stack, "PlainQueue");
    addNagChecks(app);
    expect(() => app.synth()).toThrow(/AwsSolutions-SQS4/);
  });

  it("reports findings in the validation report, not as Annotations (the cdk-nag 2 test pattern)", () => {
    const app = new App({ context: REPORT_ONLY });
    const stack = new Stack(app, "Control");
    new Queue(stack, "PlainQueue");
    addNagChecks(app);
    expect(findings(app)).toContainEqual(
      expect.objectContaining({ rule: "AwsSolutions-SQS4", severity: "error" }),
    );
    expect(Annotations.fromStack(stack).findError("*", Match.stringLikeRegexp("AwsSolutions"))).toEqual([]);
  });

  it("acknowledges only the expected rules, each on its own resource with a specific reason", () => {
    const { stack } = nagApp(FULL_CONFIG);
    const acknowledged = acknowledgementsIn(stack);
    expect(acknowledged.map(({ path, id }) => `${path} ${id}`).sort()).toEqual(
      [
        "Test/ClientTokenAuth/ClientTokens AwsSolutions-SMG4",
        "Test/Deployment/authorizer/ServiceRole AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSCodeDeployRoleForLambdaLimited]",
        "Test/Deployment/transfer/ServiceRole AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSCodeDeployRoleForLambdaLimited]",
        "Test/FailedInvocations/Queue AwsSolutions-SQS3",
        "Test/FailedInvocations/SigningKey AwsSolutions-SMG4",
        "Test/PortalSecrets/Portal-main AwsSolutions-SMG4",
      ].sort(),
    );
    const reasons = acknowledged.map((a) => a.reason);
    expect(new Set(reasons).size).toBe(reasons.length);
    for (const reason of reasons) expect(reason.length).toBeGreaterThan(80);
  });

  it("has no stale acknowledgement: without them, exactly the acknowledged findings appear", () => {
    const acknowledged = acknowledgementsIn(nagApp(FULL_CONFIG).stack)
      .map(({ path, id }) => `${path}/Resource ${id}`)
      .sort();
    const acknowledge = vi.spyOn(Validations.prototype, "acknowledge").mockImplementation(() => {});
    try {
      const unacknowledged = findings(nagApp(FULL_CONFIG).app).flatMap((f) =>
        f.paths.map((p) => `${p} ${f.rule}`),
      );
      expect(unacknowledged.sort()).toEqual(acknowledged);
    } finally {
      acknowledge.mockRestore();
    }
  });
});

interface Acknowledgement {
  path: string;
  id: string;
  reason: string;
}

function acknowledgementsIn(scope: IConstruct): Acknowledgement[] {
  return scope.node
    .findAll()
    .flatMap((construct) =>
      construct.node.metadata
        .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((entry) => toAcknowledgements(construct.node.path, entry.data)),
    );
}

/** CDK records `{ "<id>": "<reason>" }`, prefixing ids that carry no plugin namespace with `Annotation::`. */
function toAcknowledgements(path: string, data: unknown): Acknowledgement[] {
  return Object.entries(data as Record<string, string>).map(([id, reason]) => ({
    path,
    id: id.replace(/^Annotation::/, ""),
    reason,
  }));
}
