import { readFileSync } from "node:fs";
import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { vi } from "vitest";
import { PROJECT_ROOT } from "../../infra/bundling.ts";
import { parseConfig, type TransferConfig, type TransferConfigInput } from "../../infra/config.ts";
import { addNagChecks } from "../../infra/nag.ts";
import { TransferStack } from "../../infra/stack.ts";

// Synthesis is CPU-bound, and the first one in a worker loads aws-cdk-lib (and cdk-nag): several seconds
// alone, over the suite's 20 s when the machine is shared (mutation workers, parallel CI runs).
vi.setConfig({ testTimeout: 90_000, hookTimeout: 90_000 });

/** cdk.json's context (feature flags and the default settings), so tests synthesize what `cdk synth` does. */
export const CDK_JSON_CONTEXT: Record<string, unknown> = JSON.parse(
  readFileSync(`${PROJECT_ROOT}/cdk.json`, "utf8"),
).context;

export const BASE_CONFIG = {
  portals: { main: { source: "create" } },
  defaultPortal: "main",
  clients: ["example-crm"],
  throttling: { rateLimit: 10, burstLimit: 20 },
} satisfies TransferConfigInput;

/** Every optional feature switched on, to check them all in one template. */
export const FULL_CONFIG = {
  ...BASE_CONFIG,
  portals: {
    main: { source: "create" },
    shop: { source: "import", secret: "prod/b24/shop" },
    "eu-branch": {
      source: "import",
      secret: "arn:aws:secretsmanager:eu-central-1:123456789012:secret:b24/eu-branch-AbC123",
      kmsKeyArn: "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    },
  },
  clients: ["example-crm", "helpdesk"],
  alarmEmail: "ops@example.com",
  reservedConcurrency: 5,
  logRetentionDays: 90,
  logLevel: "DEBUG",
  secretCacheTtlSeconds: 120,
  authorizerCacheTtlSeconds: 60,
  schedules: [
    {
      name: "night-queue",
      schedule: "cron(0 22 ? * MON-FRI *)",
      description: "Evening chats go to the night queue",
      request: { chatId: 42, queueId: 7, leave: true },
    },
    {
      name: "shop-check",
      schedule: "rate(5 minutes)",
      enabled: false,
      request: { chatId: "9", operatorId: 3, portal: "shop" },
    },
    {
      name: "weekend-batch",
      schedule: "cron(0 18 ? * FRI *)",
      request: {
        transfers: [
          { chatId: 1, queueId: 2 },
          { chatId: 2, operatorId: 5, portal: "eu-branch" },
        ],
      },
    },
  ],
  eventSources: ["com.example.crm", "com.example.helpdesk"],
  eventBus: {
    publishers: ["arn:aws:iam::123456789012:role/crm-publisher", "210987654321"],
  },
} satisfies TransferConfigInput;

export interface SynthOptions {
  /** Run esbuild for real (slow); off by default so most tests stay fast. */
  bundle?: boolean;
  nag?: boolean;
  context?: Record<string, unknown>;
}

export function createStack(
  input: TransferConfigInput,
  { bundle = false, nag = false, context: extra }: SynthOptions = {},
) {
  const context = { ...CDK_JSON_CONTEXT, ...extra };
  // An empty list keeps the real assets but skips bundling them.
  if (!bundle) context["aws:cdk:bundling-stacks"] = [];
  const app = new App({ context });
  const config: TransferConfig = parseConfig(input);
  const stack = new TransferStack(app, "Test", { config });
  if (nag) addNagChecks(app);
  return { app, stack, config };
}

export function synthTemplate(input: TransferConfigInput): Template {
  return Template.fromStack(createStack(input).stack);
}
