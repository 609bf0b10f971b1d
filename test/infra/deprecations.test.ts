import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BASE_CONFIG, createStack, FULL_CONFIG } from "./synth.ts";

/**
 * No deprecated CDK API is touched at synth, by this project's constructs or by cdk-nag's rules: with
 * JSII_DEPRECATED=fail the first use throws instead of printing a warning. A file of its own, because
 * CDK warns once per API and process: a warning printed by an earlier test would hide a use here.
 */
const before = process.env.JSII_DEPRECATED;
beforeAll(() => {
  process.env.JSII_DEPRECATED = "fail";
});
afterAll(() => {
  if (before === undefined) delete process.env.JSII_DEPRECATED;
  else process.env.JSII_DEPRECATED = before;
});

describe("synth uses no deprecated CDK API", () => {
  it.each([
    ["every option (a dedicated event bus, schedules, alarms by mail)", FULL_CONFIG],
    [
      "EventBridge Scheduler, tracing, provisioned concurrency, linear deploys",
      {
        ...FULL_CONFIG,
        scheduleService: "scheduler" as const,
        tracing: true,
        provisionedConcurrency: 2,
        deployment: { type: "linear" as const, percent: 20, minutes: 1 },
      },
    ],
    [
      "an existing event bus and IAM authorization",
      {
        ...BASE_CONFIG,
        authorization: "iam" as const,
        clients: [],
        eventSources: ["com.example.crm"],
        eventBusName: "default",
      },
    ],
  ])("with %s, cdk-nag included", (_name, config) => {
    const { app } = createStack(config, { nag: true });
    expect(() => app.synth()).not.toThrow();
  });
});
