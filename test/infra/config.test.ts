import { readFileSync } from "node:fs";
import { App } from "aws-cdk-lib";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../infra/bundling.ts";
import {
  CONFIG_CONTEXT_KEY,
  ConfigError,
  configFromContext,
  parseConfig,
  type TransferConfigInput,
} from "../../infra/config.ts";
import { BASE_CONFIG, CDK_JSON_CONTEXT } from "./synth.ts";

/** The error's line for one key, e.g. `  - throttling.rateLimit: is required`. */
function problems(input: unknown): string[] {
  try {
    parseConfig(input);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message.split("\n").slice(1);
  }
  throw new Error("expected the configuration to be rejected");
}

const withSchedule = (schedule: Record<string, unknown>): unknown => ({
  ...BASE_CONFIG,
  schedules: [
    {
      name: "nightly",
      schedule: "cron(0 22 ? * MON-FRI *)",
      request: { chatId: 1, queueId: 2 },
      ...schedule,
    },
  ],
});

describe("the settings in cdk.json", () => {
  it("are valid and describe the documented default deployment", () => {
    const config = parseConfig(CDK_JSON_CONTEXT[CONFIG_CONTEXT_KEY]);
    expect(config).toEqual({
      stackName: "B24Transfer",
      portals: { main: { source: "create", auth: "webhook" } },
      defaultPortal: "main",
      authorization: "token",
      clients: ["example-crm"],
      authorizerCacheTtlSeconds: 300,
      throttling: { rateLimit: 10, burstLimit: 20 },
      logRetentionDays: 30,
      operatingTimeAlarmPercent: 70,
      logLevel: "INFO",
      secretCacheTtlSeconds: 300,
      tracing: false,
      secretsExtension: true,
      schedules: [],
      scheduleService: "rules",
      eventSources: [],
      secretsKey: "customer-managed",
      secretReaders: [],
      portalMoveDomains: [],
      clientPortals: {},
      messageBbcode: "keep",
      deployment: { type: "canary", percent: 10, minutes: 5 },
    });
  });
});

describe("docs/configuration.md", () => {
  it("quotes the error a misspelt scheduled request really gets, word for word", () => {
    const docs = readFileSync(`${PROJECT_ROOT}/docs/configuration.md`, "utf8");
    const quoted = /```text\n(Invalid cdk\.json context[^`]*)```/.exec(docs)?.[1];
    const typo = { name: "nightly", schedule: "rate(5 minutes)", request: { chatId: 1, operator: 12 } };
    let real = "";
    try {
      parseConfig({ ...BASE_CONFIG, schedules: [typo] }, `cdk.json context "${CONFIG_CONTEXT_KEY}"`);
    } catch (error) {
      real = (error as Error).message;
    }
    expect(quoted?.trimEnd()).toBe(real);
  });
});

describe("deployment settings", () => {
  it("default to a 10 % canary for 5 minutes, and take linear and all-at-once", () => {
    expect(parseConfig(BASE_CONFIG).deployment).toEqual({ type: "canary", percent: 10, minutes: 5 });
    const linear = { type: "linear", percent: 20, minutes: 2 } as const;
    expect(parseConfig({ ...BASE_CONFIG, deployment: linear }).deployment).toEqual(linear);
    expect(parseConfig({ ...BASE_CONFIG, deployment: { type: "all-at-once" } }).deployment).toEqual({
      type: "all-at-once",
    });
  });

  it("refuse an unknown type, shares outside 1-99 %, intervals outside 1-60 minutes and stray keys", () => {
    expect(problems({ ...BASE_CONFIG, deployment: { type: "blue-green" } })).toEqual([
      '  - deployment.type: deployment.type must be "canary", "linear" or "all-at-once"',
    ]);
    expect(problems({ ...BASE_CONFIG, deployment: { type: "canary", percent: 100, minutes: 0 } })).toEqual([
      "  - deployment.percent: percent must be a whole number from 1 to 99",
      "  - deployment.minutes: minutes must be a whole number from 1 to 60",
    ]);
    expect(problems({ ...BASE_CONFIG, deployment: { type: "linear", percent: 10.5, minutes: 61 } })).toEqual([
      "  - deployment.percent: percent must be a whole number from 1 to 99",
      "  - deployment.minutes: minutes must be a whole number from 1 to 60",
    ]);
    expect(problems({ ...BASE_CONFIG, deployment: { type: "canary", percent: 10 } })).toEqual([
      "  - deployment.minutes: is required",
    ]);
    expect(problems({ ...BASE_CONFIG, deployment: { type: "all-at-once", percent: 10 } })).toEqual([
      "  - deployment.percent: unknown setting",
    ]);
  });

  it("refuse more provisioned than reserved concurrency, which Lambda would refuse at deploy", () => {
    expect(problems({ ...BASE_CONFIG, reservedConcurrency: 2, provisionedConcurrency: 3 })).toEqual([
      "  - provisionedConcurrency: may not exceed reservedConcurrency (2): Lambda refuses it",
    ]);
    expect(parseConfig({ ...BASE_CONFIG, reservedConcurrency: 3, provisionedConcurrency: 3 })).toMatchObject({
      provisionedConcurrency: 3,
    });
    expect(problems({ ...BASE_CONFIG, provisionedConcurrency: 0 })).toEqual([
      "  - provisionedConcurrency: provisionedConcurrency must be > 0",
    ]);
  });
});

describe("parseConfig", () => {
  it("fills in defaults for optional settings", () => {
    expect(parseConfig(BASE_CONFIG)).toMatchObject({
      stackName: "B24Transfer",
      authorization: "token",
      authorizerCacheTtlSeconds: 300,
      logRetentionDays: 30,
      operatingTimeAlarmPercent: 70,
      logLevel: "INFO",
      secretCacheTtlSeconds: 300,
      schedules: [],
    });
  });

  it("names every missing required key", () => {
    expect(problems({})).toEqual([
      "  - portals: is required",
      "  - defaultPortal: is required",
      "  - throttling: is required",
    ]);
  });

  it("rejects misspelt keys at any depth instead of ignoring them", () => {
    expect(problems({ ...BASE_CONFIG, alarmEmial: "ops@example.com" })).toEqual([
      "  - alarmEmial: unknown setting",
    ]);
    expect(problems({ ...BASE_CONFIG, throttling: { rateLimit: 10, burst: 20 } })).toEqual([
      "  - throttling.burstLimit: is required",
      "  - throttling.burst: unknown setting",
    ]);
  });

  it("checks the default portal against the configured portals", () => {
    expect(problems({ ...BASE_CONFIG, defaultPortal: "shop" })).toEqual([
      '  - defaultPortal: "shop" is not one of the configured portals (main)',
    ]);
  });

  it("validates portal names with the function's own rule", () => {
    expect(
      problems({ ...BASE_CONFIG, portals: { Main: { source: "create" }, main: { source: "create" } } }),
    ).toEqual([
      "  - portals.Main: invalid name: portal must be 1-63 lowercase letters, digits or hyphens, starting with a letter or digit",
    ]);
  });

  it("accepts an imported secret by name or complete ARN only", () => {
    const portals = (secret: string) => ({ ...BASE_CONFIG, portals: { main: { source: "import", secret } } });
    expect(() => parseConfig(portals("prod/b24/main"))).not.toThrow();
    expect(() =>
      parseConfig(portals("arn:aws:secretsmanager:eu-central-1:123456789012:secret:prod/b24/main-a1B2c3")),
    ).not.toThrow();
    // A partial ARN cannot be told apart from a name ending in six characters, so it is refused.
    expect(
      problems(portals("arn:aws:secretsmanager:eu-central-1:123456789012:secret:prod/b24/main")),
    ).toEqual([
      "  - portals.main.secret: secret must be a secret name or a complete secret ARN (with its 6-character suffix)",
    ]);
    expect(problems({ ...BASE_CONFIG, portals: { main: { source: "copy" } } })).toEqual([
      '  - portals.main.source: source must be "create" or "import"',
    ]);
    expect(
      problems({
        ...BASE_CONFIG,
        portals: { main: { source: "import", secret: "x", kmsKeyArn: "alias/mine" } },
      }),
    ).toEqual(["  - portals.main.kmsKeyArn: kmsKeyArn must be a KMS key ARN"]);
  });

  it("refuses portal names that would share an output name", () => {
    expect(
      problems({
        ...BASE_CONFIG,
        portals: { "a-1": { source: "create" }, a1: { source: "create" }, main: { source: "create" } },
      }),
    ).toEqual(["  - portals: portal names a-1 and a1 differ only by hyphens"]);
  });

  it("requires clients for token authorization, but not for IAM", () => {
    expect(problems({ ...BASE_CONFIG, clients: [] })).toEqual([
      '  - clients: token authorization needs at least one client name (or set authorization to "iam")',
    ]);
    expect(parseConfig({ ...BASE_CONFIG, authorization: "iam", clients: [] }).authorization).toBe("iam");
    expect(problems({ ...BASE_CONFIG, clients: ["crm", "crm", "bad name"] })).toEqual([
      "  - clients[2]: client names are 1-64 letters, digits, dots, underscores or hyphens, starting with a letter or digit",
      '  - clients: client "crm" is listed twice',
    ]);
  });

  it("checks numbers, e-mail and retention", () => {
    expect(
      problems({
        ...BASE_CONFIG,
        throttling: { rateLimit: 0, burstLimit: 2.5 },
        alarmEmail: "ops",
        operatingTimeAlarmPercent: 120,
        logRetentionDays: 31,
        reservedConcurrency: 0,
        authorizerCacheTtlSeconds: 600,
      }),
    ).toEqual([
      "  - authorizerCacheTtlSeconds: authorizerCacheTtlSeconds must be a whole number of seconds from 0 to 300",
      "  - throttling.rateLimit: rateLimit must be > 0",
      "  - throttling.burstLimit: burstLimit must be an integer",
      "  - alarmEmail: alarmEmail must be an e-mail address",
      "  - operatingTimeAlarmPercent: operatingTimeAlarmPercent must be a number from 1 to 100",
      expect.stringMatching(
        /^ {2}- logRetentionDays: logRetentionDays must be one of 1, 3, 5, 7, 14, 30, .*9999/,
      ),
      "  - reservedConcurrency: reservedConcurrency must be > 0",
    ]);
  });
});

describe("schedules", () => {
  it("accept rate and six-field cron expressions", () => {
    for (const schedule of [
      "rate(1 minute)",
      "rate(15 minutes)",
      "rate(2 days)",
      "cron(0 9 * * ? *)",
      "cron(0 22 ? * MON-FRI *)",
      "cron(0/15 8-17 ? JAN,JUN-AUG 2#1 2026-2030)",
      "cron(5,35 14 L * ? *)",
      "cron(0 10 15W * ? *)",
      "cron(0 18 ? * 6L *)",
    ]) {
      expect(() => parseConfig(withSchedule({ schedule })), schedule).not.toThrow();
    }
  });

  it("reject expressions EventBridge would refuse at deploy time", () => {
    expect(problems(withSchedule({ schedule: "rate(1 minutes)" }))).toEqual([
      '  - schedules[0].schedule: "rate(1 minutes)" is neither rate(<n> <unit>) nor a six-field cron(...) expression',
    ]);
    expect(problems(withSchedule({ schedule: "cron(0 9 * * *)" }))).toHaveLength(1);
    expect(problems(withSchedule({ schedule: "cron(0 9 * * MON *)" }))).toEqual([
      '  - schedules[0].schedule: "cron(0 9 * * MON *)": exactly one of day-of-month (3rd field) and day-of-week (5th field) must be "?"',
    ]);
  });

  it("reject cron fields out of range or misnamed, and unknown time zones", () => {
    expect(problems(withSchedule({ schedule: "cron(99 99 ? * FOO *)" }))).toEqual([
      '  - schedules[0].schedule: "cron(99 99 ? * FOO *)": minutes "99" is not valid: use 0-59, *, lists, ranges or increments',
      '  - schedules[0].schedule: "cron(99 99 ? * FOO *)": hours "99" is not valid: use 0-23, *, lists, ranges or increments',
      '  - schedules[0].schedule: "cron(99 99 ? * FOO *)": day-of-week "FOO" is not valid: use 1-7 or SUN-SAT, *, lists, ranges or increments',
    ]);
    expect(problems(withSchedule({ schedule: "cron(0 9 32 FEBR ? 1900)" }))).toHaveLength(3);
    expect(problems(withSchedule({ schedule: "cron(0/0 9 * * ? *)" }))).toHaveLength(1);
    const zoned = (timezone: string) => ({
      ...(withSchedule({ timezone }) as object),
      scheduleService: "scheduler",
    });
    expect(problems(zoned("Mars/Olympus"))).toEqual([
      '  - schedules[0].timezone: "Mars/Olympus" is not an IANA time zone such as Europe/Berlin',
    ]);
    expect(() => parseConfig(zoned("Europe/Berlin"))).not.toThrow();
    expect(() => parseConfig(zoned("UTC"))).not.toThrow();
  });

  it("validate each request with the function's parser, so a typo fails synth", () => {
    expect(problems(withSchedule({ request: { chatId: 1, operator: 5 } }))).toEqual([
      "  - schedules[0].request.operator: unknown field operator",
      "  - schedules[0].request.operatorId: exactly one of operatorId, queueId or anyOperator is required",
    ]);
    expect(problems(withSchedule({ request: { chatId: -1, queueId: 2 } }))).toEqual([
      "  - schedules[0].request.chatId: chatId must be a positive integer",
    ]);
    expect(problems(withSchedule({ request: "chat 1 to queue 2" }))).toEqual([
      "  - schedules[0].request: the request must be a JSON object",
    ]);
  });

  it("take the hand-over fields, checked at synth too", () => {
    const handOver = { chatId: 1, anyOperator: true, message: "Ночная смена 🌙", fallback: { queueId: 4 } };
    expect(() => parseConfig(withSchedule({ request: handOver }))).not.toThrow();
    expect(
      problems(withSchedule({ request: { ...handOver, message: "", fallback: { anyOperator: true } } })),
    ).toEqual([
      "  - schedules[0].request.message: message must not be blank",
      "  - schedules[0].request.fallback: fallback must differ from the target",
    ]);
  });

  it("may be batches, each item checked like a single request", () => {
    const batch = (transfers: unknown[]) => withSchedule({ request: { transfers } });
    expect(() =>
      parseConfig(
        batch([
          { chatId: 1, queueId: 2 },
          { chatId: 2, operatorId: 3 },
        ]),
      ),
    ).not.toThrow();
    expect(
      problems(
        batch([
          { chatId: 1, queueId: 2 },
          { chatId: 1, operatorId: 3 },
        ]),
      ),
    ).toEqual(["  - schedules[0].request.transfers[1].chatId: chat 1 is already transferred by transfers.0"]);
    expect(
      problems(
        batch([
          { chatId: 1, queueId: 2 },
          { chatId: 2, operatorId: 3, portal: "shop" },
        ]),
      ),
    ).toEqual([
      '  - schedules[0].request.transfers[1].portal: "shop" is not one of the configured portals (main)',
    ]);
    expect(problems(batch([]))).toEqual([
      "  - schedules[0].request.transfers: transfers must hold at least one request",
    ]);
  });

  it("refer only to configured portals and have unique names", () => {
    expect(problems(withSchedule({ request: { chatId: 1, queueId: 2, portal: "shop" } }))).toEqual([
      '  - schedules[0].request.portal: "shop" is not one of the configured portals (main)',
    ]);
    const twice = withSchedule({}) as { schedules: unknown[] };
    expect(problems({ ...twice, schedules: [...twice.schedules, ...twice.schedules] })).toEqual([
      '  - schedules: schedule name "nightly" is used twice',
    ]);
  });
});

describe("eventSources", () => {
  it("lists the sources whose Transfer Requested events reach the function", () => {
    expect(
      parseConfig({ ...BASE_CONFIG, eventSources: ["com.example.crm"], eventBusName: "default" })
        .eventSources,
    ).toEqual(["com.example.crm"]);
    expect(
      problems({ ...BASE_CONFIG, eventSources: ["aws.events", "with space"], eventBusName: "default" }),
    ).toEqual([
      '  - eventSources[0]: event sources are 1-256 characters without spaces and may not start with "aws."',
      '  - eventSources[1]: event sources are 1-256 characters without spaces and may not start with "aws."',
    ]);
  });

  // Issue 14, finding 6: the default bus was used silently, and anyone who may put events there can claim a source.
  it("needs an explicit bus: a dedicated one with publishers, or a named existing one", () => {
    const sources = { ...BASE_CONFIG, eventSources: ["com.example.crm"] };
    expect(problems(sources)).toEqual([
      '  - eventBus: eventSources need a bus: eventBus with its publishers (recommended), or eventBusName (e.g. "default") to accept events from anyone who may put events there',
    ]);
    expect(
      problems({ ...sources, eventBusName: "default", eventBus: { publishers: ["123456789012"] } }),
    ).toEqual(["  - eventBusName: give eventBus (a dedicated bus) or eventBusName, not both"]);
    expect(problems({ ...BASE_CONFIG, eventBus: { publishers: ["123456789012"] } })).toEqual([
      "  - eventBus: an event bus needs eventSources: without them no event reaches the function",
    ]);
    expect(parseConfig({ ...sources, eventBusName: "default" }).eventBusName).toBe("default");
  });

  it("accepts only IAM role or user ARNs and account ids as publishers, at least one", () => {
    const withPublishers = (publishers: unknown) => ({
      ...BASE_CONFIG,
      eventSources: ["com.example.crm"],
      eventBus: { publishers },
    });
    expect(
      parseConfig(
        withPublishers([
          "arn:aws:iam::123456789012:role/crm",
          "arn:aws:iam::123456789012:user/ops",
          "210987654321",
        ]),
      ).eventBus?.publishers,
    ).toHaveLength(3);
    expect(problems(withPublishers([]))).toEqual([
      "  - eventBus.publishers: name at least one publisher: only they may put events on the bus",
    ]);
    expect(problems(withPublishers(["*", "arn:aws:iam::123456789012:root", "12345"]))).toEqual([
      "  - eventBus.publishers[0]: publishers are IAM role or user ARNs, or 12-digit account ids",
      "  - eventBus.publishers[1]: publishers are IAM role or user ARNs, or 12-digit account ids",
      "  - eventBus.publishers[2]: publishers are IAM role or user ARNs, or 12-digit account ids",
    ]);
  });
});

describe("secretsKey", () => {
  it('defaults to a customer-managed key and accepts "aws-managed"', () => {
    expect(parseConfig(BASE_CONFIG).secretsKey).toBe("customer-managed");
    expect(parseConfig({ ...BASE_CONFIG, secretsKey: "aws-managed" }).secretsKey).toBe("aws-managed");
    expect(problems({ ...BASE_CONFIG, secretsKey: "mine" })).toEqual([
      '  - secretsKey: secretsKey must be "customer-managed" or "aws-managed"',
    ]);
    expect(
      problems({ ...BASE_CONFIG, secretReaders: ["123456789012", "arn:aws:iam::123456789012:root"] }),
    ).toEqual([
      "  - secretReaders[0]: secretReaders are IAM role or user ARNs",
      "  - secretReaders[1]: secretReaders are IAM role or user ARNs",
    ]);
  });
});

describe("configFromContext", () => {
  const appWith = (value: unknown) =>
    new App({ context: value === undefined ? {} : { [CONFIG_CONTEXT_KEY]: value } });

  it("reads the settings object from the b24-transfer context key", () => {
    expect(configFromContext(appWith(BASE_CONFIG).node).defaultPortal).toBe("main");
  });

  it("accepts the object as JSON text, as `cdk synth -c b24-transfer='{…}'` passes it", () => {
    const config: TransferConfigInput = { ...BASE_CONFIG, alarmEmail: "ops@example.com" };
    expect(configFromContext(appWith(JSON.stringify(config)).node).alarmEmail).toBe("ops@example.com");
    expect(() => configFromContext(appWith("{not json").node)).toThrow(/must be a JSON object/);
  });

  it("says which context key is missing or wrong", () => {
    expect(() => configFromContext(appWith(undefined).node)).toThrow(
      /Missing cdk.json context "b24-transfer"/,
    );
    expect(() => configFromContext(appWith(withSchedule({ request: { chatId: 1 } })).node)).toThrow(
      /^Invalid cdk.json context "b24-transfer":\n {2}- schedules\[0\]\.request\.operatorId: exactly one of operatorId, queueId or anyOperator is required$/,
    );
  });
});

describe("scheduling service and event bus", () => {
  it("allows a time zone only with EventBridge Scheduler", () => {
    expect(problems(withSchedule({ timezone: "Europe/Berlin" }))).toEqual([
      '  - schedules[0].timezone: timezone needs scheduleService "scheduler" (scheduled rules run in UTC)',
    ]);
    const scheduler = {
      ...(withSchedule({ timezone: "Europe/Berlin" }) as object),
      scheduleService: "scheduler",
    };
    expect(parseConfig(scheduler).schedules[0]?.timezone).toBe("Europe/Berlin");
  });

  it("names a bad scheduling service and bus", () => {
    expect(problems({ ...BASE_CONFIG, scheduleService: "cron" })).toEqual([
      '  - scheduleService: scheduleService must be "rules" or "scheduler"',
    ]);
    expect(problems({ ...BASE_CONFIG, eventSources: ["com.example.crm"], eventBusName: "my bus" })).toEqual([
      "  - eventBusName: eventBusName must be an event bus name",
    ]);
  });

  it("defaults to scheduled rules and no event bus", () => {
    const config = parseConfig(BASE_CONFIG);
    expect([config.scheduleService, config.eventBus, config.eventBusName]).toEqual([
      "rules",
      undefined,
      undefined,
    ]);
  });
});

describe("clientPortals (issue 25, informational)", () => {
  it("names only configured clients and portals", () => {
    expect(parseConfig({ ...BASE_CONFIG, clientPortals: { "example-crm": ["main"] } }).clientPortals).toEqual(
      {
        "example-crm": ["main"],
      },
    );
    expect(
      problems({ ...BASE_CONFIG, clientPortals: { nobody: ["main"], "example-crm": ["shop"] } }),
    ).toEqual([
      '  - clientPortals.nobody: "nobody" is not one of the clients',
      '  - clientPortals.example-crm: "shop" is not one of the configured portals',
    ]);
  });
});
