import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PROBLEMS } from "../lambda/domain/problems.ts";
import type { TransferRequest } from "../lambda/domain/transfer-request.ts";
import type { Dependencies } from "../lambda/handlers/dependencies.ts";
import { lambdaContext } from "../scripts/local-api.ts";
import { loadBundle } from "./support/bundle.ts";
import { httpApiEvent, restApiEvent } from "./support/events.ts";

/**
 * Property: whatever arrives over HTTP, the deployed bundle answers with a 2xx only after a transfer it
 * was asked for, otherwise a 4xx problem+json with a known code; never a 5xx, never a crash, and the
 * transfer service (the only way to Bitrix24) is reached only with a request that passed validation.
 */
const RUNS = 10_000;

const validRequest = fc.record(
  {
    chatId: fc.oneof(fc.integer({ min: 1, max: 2 ** 31 }), fc.integer({ min: 1, max: 99999 }).map(String)),
    operatorId: fc.integer({ min: 1, max: 1000 }),
    leave: fc.boolean(),
    portal: fc.constantFrom("main", "other"),
  },
  { requiredKeys: ["chatId", "operatorId"] },
);

/** Near-misses are where validation bugs live: valid requests with one thing wrong. */
const nearMiss = fc
  .tuple(validRequest, fc.string({ maxLength: 12 }), fc.anything({ maxDepth: 2 }))
  .map(([request, key, value]) => JSON.stringify({ ...request, [key]: value }));

const body = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.string({ unit: "binary", maxLength: 200 }),
  fc.json({ maxDepth: 3 }),
  nearMiss,
  validRequest.map((request) => JSON.stringify(request)),
  fc.array(validRequest, { maxLength: 3 }).map((transfers) => JSON.stringify({ transfers })),
  fc
    .integer({ min: 16 * 1024 - 64, max: 16 * 1024 + 64 })
    .map((size) => `{"chatId":1,"operatorId":1,"x":"${"a".repeat(size)}"}`),
  fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes).toString("latin1")),
  fc.constant(""),
);

const contentType = fc.oneof(
  fc.constant("application/json"),
  fc.constant("application/json; charset=utf-8"),
  fc.constantFrom(
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/xml",
  ),
  fc.string({ maxLength: 40 }),
);

const headers = fc.dictionary(
  fc.oneof(
    fc.constantFrom("authorization", "x-forwarded-for", "x-client", "client", "x-amzn-requestid"),
    fc.string({ minLength: 1, maxLength: 20 }),
  ),
  fc.string({ maxLength: 60 }),
  { maxKeys: 4 },
);

const httpEvent = fc.record({
  rest: fc.boolean(),
  method: fc.oneof(
    { weight: 8, arbitrary: fc.constant("POST") },
    { weight: 1, arbitrary: fc.constantFrom("GET", "PUT", "DELETE", "PATCH") },
  ),
  path: fc.oneof({ weight: 8, arbitrary: fc.constant("/transfers") }, { weight: 1, arbitrary: fc.webPath() }),
  contentType: fc.option(contentType, { nil: undefined }),
  headers,
  body: fc.option(body, { nil: undefined }),
  base64: fc.boolean(),
});

describe("fuzzing the HTTP handler", () => {
  it(`answers ${RUNS} generated requests without a 5xx and only transfers validated requests`, async () => {
    const { createHandler } = (await loadBundle()) as unknown as {
      createHandler: (options: {
        dependencies: () => Dependencies;
      }) => (event: unknown, context: unknown) => Promise<unknown>;
    };
    const seen: TransferRequest[] = [];
    const dependencies: Dependencies = {
      failureQueueUrl: undefined,
      sendFailures: async () => {
        throw new Error("HTTP requests never use the failure queue");
      },
      service: {
        portalFor: (request) => request.portal ?? "main",
        authorize: () => undefined,
        prepare: async () => undefined,
        readChat: async () => {
          throw new Error("the fuzzed requests are transfers");
        },
        transfer: async (request) => {
          seen.push(request);
          return {
            result: { transferred: true, ...request, portal: request.portal ?? "main" } as never,
            attempts: 1,
          };
        },
        transferBatch: async (requests) => {
          seen.push(...requests);
          return {
            items: requests.map((r) => ({
              ok: true as const,
              result: { transferred: true as const, ...r, portal: "main" } as never,
            })),
            attempts: 1,
          };
        },
      },
    };
    const handler = createHandler({ dependencies: () => dependencies });
    const codes = new Set(Object.keys(PROBLEMS));

    await fc.assert(
      fc.asyncProperty(httpEvent, async (input) => {
        const before = seen.length;
        const edit = {
          method: input.method,
          path: input.path,
          headers: {
            ...input.headers,
            ...(input.contentType === undefined ? {} : { "content-type": input.contentType }),
          },
          base64: input.base64,
          ...(input.body === undefined ? {} : { body: input.body }),
        };
        const event = input.rest ? restApiEvent(edit) : httpApiEvent(edit);
        const result = (await handler(event, lambdaContext(28_000))) as APIGatewayProxyStructuredResultV2;
        const status = result.statusCode ?? 0;
        expect(status).toBeGreaterThanOrEqual(200);
        expect(status).toBeLessThan(500);
        const parsed = JSON.parse(result.body ?? "");
        if (status >= 400) {
          expect(result.headers?.["content-type"]).toBe("application/problem+json");
          expect(codes.has(parsed.code)).toBe(true);
          expect(parsed.status).toBe(status);
          expect(seen.length).toBe(before);
        } else {
          // Reached the service: every request it got is well formed.
          for (const request of seen.slice(before)) {
            expect(Number.isSafeInteger(request.chatId) && request.chatId > 0).toBe(true);
            const targets = Object.values(request.target);
            expect(
              targets.length === 1 && Number.isSafeInteger(targets[0]) && (targets[0] as number) > 0,
            ).toBe(true);
          }
          expect(seen.length).toBeGreaterThan(before);
        }
      }),
      { numRuns: RUNS },
    );
  }, 120_000);
});
