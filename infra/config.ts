import { RetentionDays } from "aws-cdk-lib/aws-logs";
import type { Node } from "constructs";
import * as z from "zod";
import { CLIENT_NAME_PATTERN } from "../lambda/auth/client-tokens.ts";
import { TransferError } from "../lambda/domain/problems.ts";
import { portalName, requireTransferInput, type TransferInput } from "../lambda/domain/transfer-request.ts";
import { cronFieldProblems, isKnownTimeZone } from "./cron-fields.ts";

/**
 * Every deployment setting, validated once at synth. The values live in cdk.json under one context key;
 * the schema is strict so a misspelt key fails `cdk synth` instead of being silently ignored.
 * docs/configuration.md describes each key.
 */

export const CONFIG_CONTEXT_KEY = "b24-transfer";

// A complete ARN ends in the six random characters Secrets Manager appends to the name.
const SECRET_ARN =
  /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$/;
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/;
const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const SCHEDULE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const RATE_EXPRESSION = /^rate\((1 (minute|hour|day)|([2-9]|[1-9][0-9]+) (minutes|hours|days))\)$/;
const CRON_EXPRESSION = /^cron\(([^()\s]+(?: [^()\s]+){5})\)$/;

const IAM_PRINCIPAL_ARN = /^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/[A-Za-z0-9+=,.@_/-]{1,512}$/;
// Who may put events on a dedicated bus: an IAM role or user, or a whole account.
const EVENT_PUBLISHER = new RegExp(`^\\d{12}$|${IAM_PRINCIPAL_ARN.source}`);
// PutEvents refuses custom events whose source starts with "aws.".
const EVENT_SOURCE = /^(?!aws\.)[^\s]{1,256}$/;
const RETENTION_DAYS = Object.values(RetentionDays).filter(
  (value): value is number => typeof value === "number",
);

/** A type error message that still says "is required" when the key is absent. */
const typeError = (message: string) => (issue: { input?: unknown }) =>
  issue.input === undefined ? "is required" : message;

/**
 * "webhook": the secret holds an incoming webhook. "oauth": it holds an application's token pair, which
 * the function rotates and writes back, so only these secrets get write permissions.
 */
const portalAuth = z
  .enum(["webhook", "oauth"], { error: 'auth must be "webhook" or "oauth"' })
  .default("webhook");

const portalSource = z.discriminatedUnion(
  "source",
  [
    z.strictObject({ source: z.literal("create"), auth: portalAuth }),
    z.strictObject({
      source: z.literal("import"),
      auth: portalAuth,
      secret: z
        .string({ error: typeError("secret must be the name or complete ARN of an existing secret") })
        .refine((value) => SECRET_ARN.test(value) || (!value.startsWith("arn:") && SECRET_NAME.test(value)), {
          error: "secret must be a secret name or a complete secret ARN (with its 6-character suffix)",
        }),
      kmsKeyArn: z.string().regex(KMS_KEY_ARN, { error: "kmsKeyArn must be a KMS key ARN" }).optional(),
    }),
  ],
  { error: 'source must be "create" or "import"' },
);

const scheduleExpression = z
  .string({ error: 'schedule must be a "cron(...)" or "rate(...)" expression' })
  .superRefine((value, ctx) => {
    if (RATE_EXPRESSION.test(value)) return;
    const cron = CRON_EXPRESSION.exec(value);
    if (!cron) {
      ctx.addIssue({
        code: "custom",
        message: `"${value}" is neither rate(<n> <unit>) nor a six-field cron(...) expression`,
      });
      return;
    }
    const fields = (cron[1] as string).split(" ");
    for (const problem of cronFieldProblems(fields)) {
      ctx.addIssue({ code: "custom", message: `"${value}": ${problem}` });
    }
    // EventBridge rejects a cron that restricts both the day of month and the day of week.
    const [, , dayOfMonth, , dayOfWeek] = fields;
    if ((dayOfMonth === "?") === (dayOfWeek === "?")) {
      ctx.addIssue({
        code: "custom",
        message: `"${value}": exactly one of day-of-month (3rd field) and day-of-week (5th field) must be "?"`,
      });
    }
  });

const schedule = z.strictObject({
  name: z.string().regex(SCHEDULE_NAME, {
    error: "name must be 1-64 letters, digits, hyphens or underscores, starting with a letter or digit",
  }),
  schedule: scheduleExpression,
  description: z.string().max(512).optional(),
  enabled: z.boolean().default(true),
  /** IANA time zone for cron expressions; EventBridge Scheduler only (rules run in UTC). */
  timezone: z
    .string()
    .refine(isKnownTimeZone, {
      error: (issue) => `"${String(issue.input)}" is not an IANA time zone such as Europe/Berlin`,
    })
    .optional(),
  // A single request or a batch, checked below with the function's own parser.
  request: z.unknown(),
});

const wholeBetween = (min: number, max: number, message: string) =>
  z
    .number({ error: typeError(message) })
    .int(message)
    .min(min, message)
    .max(max, message);

/**
 * How CodeDeploy moves `live` to a new version: a canary share first and the rest after `minutes`, the
 * same share every `minutes`, or everything at once. Alarms roll it back at any point (docs/deploy.md).
 */
const trafficShift = (type: "canary" | "linear") =>
  z.strictObject({
    type: z.literal(type),
    percent: wholeBetween(1, 99, "percent must be a whole number from 1 to 99"),
    minutes: wholeBetween(1, 60, "minutes must be a whole number from 1 to 60"),
  });
const deployment = z.discriminatedUnion(
  "type",
  [trafficShift("canary"), trafficShift("linear"), z.strictObject({ type: z.literal("all-at-once") })],
  { error: 'deployment.type must be "canary", "linear" or "all-at-once"' },
);
export type DeploymentSetting = z.output<typeof deployment>;

const positiveInt = (key: string) =>
  z
    .number({ error: typeError(`${key} must be a number`) })
    .int(`${key} must be an integer`)
    .positive(`${key} must be > 0`);

const secondsBetween = (key: string, min: number, max: number) =>
  wholeBetween(min, max, `${key} must be a whole number of seconds from ${min} to ${max}`);

export const configSchema = z
  .strictObject({
    stackName: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9-]{0,127}$/, {
        error: "stackName must be a valid CloudFormation stack name",
      })
      .default("B24Transfer"),
    portals: z
      .record(portalName, portalSource)
      .refine((portals) => Object.keys(portals).length > 0, { error: "configure at least one portal" }),
    defaultPortal: z.string({ error: typeError("defaultPortal must be a portal name") }).pipe(portalName),
    authorization: z
      .enum(["token", "iam"], { error: 'authorization must be "token" or "iam"' })
      .default("token"),
    clients: z
      .array(
        z.string().regex(CLIENT_NAME_PATTERN, {
          error:
            "client names are 1-64 letters, digits, dots, underscores or hyphens, starting with a letter or digit",
        }),
      )
      .default([]),
    authorizerCacheTtlSeconds: secondsBetween("authorizerCacheTtlSeconds", 0, 300).default(300),
    throttling: z.strictObject({
      rateLimit: z
        .number({ error: typeError("rateLimit must be a number") })
        .positive("rateLimit must be > 0"),
      burstLimit: positiveInt("burstLimit"),
    }),
    alarmEmail: z.email({ error: "alarmEmail must be an e-mail address" }).optional(),
    /** Alarm when a Bitrix24 method has used this share of its operating-time budget (420 s / 10 min by default). */
    operatingTimeAlarmPercent: z
      .number({ error: typeError("operatingTimeAlarmPercent must be a number from 1 to 100") })
      .min(1, "operatingTimeAlarmPercent must be a number from 1 to 100")
      .max(100, "operatingTimeAlarmPercent must be a number from 1 to 100")
      .default(70),
    logRetentionDays: z
      .number()
      .refine((days) => RETENTION_DAYS.includes(days), {
        error: `logRetentionDays must be one of ${RETENTION_DAYS.join(", ")} (9999 = never expire)`,
      })
      .default(30),
    logLevel: z.enum(["DEBUG", "INFO", "WARN", "ERROR"]).default("INFO"),
    reservedConcurrency: positiveInt("reservedConcurrency").optional(),
    /** Warm environments kept on the transfer function's `live` alias (billed while configured). */
    provisionedConcurrency: positiveInt("provisionedConcurrency").optional(),
    deployment: deployment.default({ type: "canary", percent: 10, minutes: 5 }),
    tracing: z.boolean({ error: "tracing must be true or false" }).default(false),
    /** The AWS Parameters and Secrets Lambda Extension for the transfer function's secret reads (docs/performance.md). */
    secretsExtension: z.boolean({ error: "secretsExtension must be true or false" }).default(true),
    secretCacheTtlSeconds: secondsBetween("secretCacheTtlSeconds", 0, 3600).default(300),
    schedules: z.array(schedule).default([]),
    /** EventBridge Scheduler (AWS's successor to scheduled rules, with time zones) or scheduled rules. */
    scheduleService: z
      .enum(["rules", "scheduler"], { error: 'scheduleService must be "rules" or "scheduler"' })
      .default("rules"),
    /**
     * A bus of this stack's own whose resource policy names who may put events on it: the recommended
     * setting, because an event's `source` is whatever its sender wrote, not an identity.
     */
    eventBus: z
      .strictObject({
        publishers: z
          .array(
            z.string().regex(EVENT_PUBLISHER, {
              error: "publishers are IAM role or user ARNs, or 12-digit account ids",
            }),
          )
          .min(1, { error: "name at least one publisher: only they may put events on the bus" }),
      })
      .optional(),
    /** An existing bus ("default" included): anyone its policies let put events can claim an allowed source. */
    eventBusName: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,256}$/, { error: "eventBusName must be an event bus name" })
      .optional(),
    /** Customer-managed KMS key for the created secrets (recommended), or the AWS-managed aws/secretsmanager. */
    secretsKey: z
      .enum(["customer-managed", "aws-managed"], {
        error: 'secretsKey must be "customer-managed" or "aws-managed"',
      })
      .default("customer-managed"),
    /** People or tools (IAM role or user ARNs) who may also read the secrets under that key, e.g. for `npm run doctor`. */
    secretReaders: z
      .array(z.string().regex(IAM_PRINCIPAL_ARN, { error: "secretReaders are IAM role or user ARNs" }))
      .default([]),
    /** "escape" shows a message's BBCode as text instead of letting Bitrix24 render it (MESSAGE_BBCODE). */
    messageBbcode: z
      .enum(["keep", "escape"], { error: 'messageBbcode must be "keep" or "escape"' })
      .default("keep"),
    /** Client name → the portals it may use (CLIENT_PORTALS); a client not named may use all of them. */
    clientPortals: z.record(z.string().regex(CLIENT_NAME_PATTERN), z.array(z.string())).default({}),
    /** Domains an on-premise portal may move to (a 302 to its new address), besides its own domain; PORTAL_MOVE_DOMAINS. */
    portalMoveDomains: z
      .array(
        z.string().regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$/, {
          error: "portalMoveDomains are lower-case domain names such as example.com",
        }),
      )
      .default([]),
    eventSources: z
      .array(
        z.string().regex(EVENT_SOURCE, {
          error: 'event sources are 1-256 characters without spaces and may not start with "aws."',
        }),
      )
      .default([]),
  })
  .superRefine((config, ctx) => {
    const portals = Object.keys(config.portals);
    if (!portals.includes(config.defaultPortal)) {
      ctx.addIssue({
        code: "custom",
        path: ["defaultPortal"],
        message: `"${config.defaultPortal}" is not one of the configured portals (${portals.join(", ")})`,
      });
    }
    if (config.authorization === "token" && config.clients.length === 0) {
      ctx.addIssue({
        code: "custom",
        path: ["clients"],
        message: 'token authorization needs at least one client name (or set authorization to "iam")',
      });
    }
    if (
      config.provisionedConcurrency !== undefined &&
      config.reservedConcurrency !== undefined &&
      config.provisionedConcurrency > config.reservedConcurrency
    ) {
      ctx.addIssue({
        code: "custom",
        path: ["provisionedConcurrency"],
        message: `may not exceed reservedConcurrency (${config.reservedConcurrency}): Lambda refuses it`,
      });
    }
    eventBusIssues(config).forEach((issue) => {
      ctx.addIssue({ code: "custom", ...issue });
    });
    for (const [client, names] of Object.entries(config.clientPortals)) {
      if (!config.clients.includes(client))
        ctx.addIssue({
          code: "custom",
          path: ["clientPortals", client],
          message: `"${client}" is not one of the clients`,
        });
      for (const name of names.filter((n) => !portals.includes(n)))
        ctx.addIssue({
          code: "custom",
          path: ["clientPortals", client],
          message: `"${name}" is not one of the configured portals`,
        });
    }
    findDuplicates(config.clients).forEach((name) => {
      ctx.addIssue({ code: "custom", path: ["clients"], message: `client "${name}" is listed twice` });
    });
    findDuplicates(config.schedules.map((s) => s.name)).forEach((name) => {
      ctx.addIssue({ code: "custom", path: ["schedules"], message: `schedule name "${name}" is used twice` });
    });
    // Outputs are named after portals with hyphens removed; two names must not collapse into one.
    findDuplicates(portals.map(portalOutputSuffix)).forEach((suffix) => {
      ctx.addIssue({
        code: "custom",
        path: ["portals"],
        message: `portal names ${portals.filter((p) => portalOutputSuffix(p) === suffix).join(" and ")} differ only by hyphens`,
      });
    });
    config.schedules.forEach((entry, index) => {
      if (entry.timezone && config.scheduleService !== "scheduler") {
        ctx.addIssue({
          code: "custom",
          path: ["schedules", index, "timezone"],
          message: 'timezone needs scheduleService "scheduler" (scheduled rules run in UTC)',
        });
      }
      for (const issue of requestIssues(entry.request, portals)) {
        ctx.addIssue({
          code: "custom",
          path: ["schedules", index, "request", ...issue.path],
          message: issue.message,
        });
      }
    });
  });

/** Events need an explicit bus: a dedicated one (recommended) or a named existing one, not both. */
function eventBusIssues(config: {
  eventSources: readonly string[];
  eventBus?: unknown;
  eventBusName?: string;
}): { path: PropertyKey[]; message: string }[] {
  const dedicated = config.eventBus !== undefined;
  const existing = config.eventBusName !== undefined;
  if (config.eventSources.length === 0) {
    if (!dedicated && !existing) return [];
    return [
      {
        path: [dedicated ? "eventBus" : "eventBusName"],
        message: "an event bus needs eventSources: without them no event reaches the function",
      },
    ];
  }
  if (dedicated && existing) {
    return [{ path: ["eventBusName"], message: "give eventBus (a dedicated bus) or eventBusName, not both" }];
  }
  if (!dedicated && !existing) {
    return [
      {
        path: ["eventBus"],
        message:
          'eventSources need a bus: eventBus with its publishers (recommended), or eventBusName (e.g. "default") to accept events from anyone who may put events there',
      },
    ];
  }
  return [];
}

/**
 * Problems the function itself would report for a scheduled request (single or batch), plus portals
 * this stack does not configure, which the function could only reject at run time.
 */
function requestIssues(
  request: unknown,
  portals: readonly string[],
): { path: PropertyKey[]; message: string }[] {
  let input: TransferInput;
  try {
    input = requireTransferInput(request);
  } catch (error) {
    if (!(error instanceof TransferError)) throw error;
    return (error.details.errors ?? [{ path: "(body)", message: error.details.detail }]).map((field) => ({
      path:
        field.path === "(body)"
          ? []
          : field.path.split(".").map((key) => (/^\d+$/.test(key) ? Number(key) : key)),
      message: field.message,
    }));
  }
  const requests =
    input.kind === "single"
      ? [{ request: input.request, path: [] }]
      : input.requests.map((request, i) => ({ request, path: ["transfers", i] }));
  return requests
    .filter(({ request: { portal } }) => portal !== undefined && !portals.includes(portal))
    .map(({ request, path }) => ({
      path: [...path, "portal"],
      message: `"${request.portal}" is not one of the configured portals (${portals.join(", ")})`,
    }));
}

export type TransferConfigInput = z.input<typeof configSchema>;
export type TransferConfig = z.output<typeof configSchema>;
export type PortalSource = z.output<typeof portalSource>;
export type ScheduleConfig = z.output<typeof schedule>;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** Validates settings; the error lists every problem, each prefixed with the key that has it. */
export function parseConfig(input: unknown, source = "configuration"): TransferConfig {
  const result = configSchema.safeParse(input, {
    error: (issue) =>
      issue.code === "invalid_type" && issue.input === undefined ? "is required" : undefined,
  });
  if (result.success) return result.data;
  const lines = result.error.issues.flatMap((issue) =>
    issue.code === "unrecognized_keys"
      ? issue.keys.map((key) => `  - ${formatPath([...issue.path, key])}: unknown setting`)
      : [`  - ${formatPath(issue.path)}: ${issueMessage(issue)}`],
  );
  throw new ConfigError(`Invalid ${source}:\n${lines.join("\n")}`);
}

/** Reads the settings from the `b24-transfer` context key (cdk.json, or `-c b24-transfer='{…}'`). */
export function configFromContext(node: Node): TransferConfig {
  const source = `cdk.json context "${CONFIG_CONTEXT_KEY}"`;
  let raw: unknown = node.tryGetContext(CONFIG_CONTEXT_KEY);
  if (raw === undefined) {
    throw new ConfigError(
      `Missing ${source}: add the settings object to cdk.json (see docs/configuration.md)`,
    );
  }
  if (typeof raw === "string") {
    try {
      raw = JSON.parse(raw);
    } catch {
      throw new ConfigError(`Invalid ${source}: a value given with -c must be a JSON object`);
    }
  }
  return parseConfig(raw, source);
}

export function portalOutputSuffix(portal: string): string {
  return portal
    .split("-")
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join("");
}

function findDuplicates(values: readonly string[]): string[] {
  return [...new Set(values.filter((value, index) => values.indexOf(value) !== index))];
}

function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return "(settings)";
  return path
    .map((key, index) => (typeof key === "number" ? `[${key}]` : `${index === 0 ? "" : "."}${String(key)}`))
    .join("");
}

function issueMessage(issue: z.core.$ZodIssue): string {
  // A record key failure carries the key schema's own message one level down.
  if (issue.code === "invalid_key") return `invalid name: ${issue.issues[0]?.message ?? issue.message}`;
  return issue.message;
}
