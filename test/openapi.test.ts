import { readFileSync } from "node:fs";
import SwaggerParser from "@apidevtools/swagger-parser";
import type { APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROBLEMS, type ProblemCode } from "../lambda/domain/problems.ts";
import { requireTransferInput } from "../lambda/domain/transfer-request.ts";
import { lambdaContext } from "../scripts/local-api.ts";
import { startDynamo } from "../scripts/local-dynamodb.ts";
import { buildOpenApiDocument, OPENAPI_PATH, renderOpenApiDocument } from "../scripts/openapi/document.ts";
import { codesReached, PROBLEM_CATALOGUE, PROBLEM_CODES } from "../scripts/openapi/problem-catalogue.ts";
import { API_DOC_PATH, renderApiDoc } from "../scripts/openapi/problem-table.ts";
import { batchResponse, problem, transferResponse } from "../scripts/openapi/response-schemas.ts";
import {
  documentedResponse,
  EXAMPLES,
  HEADERS,
  OPERATION_RESPONSES,
  PROBLEM_JSON,
  type ResponseDoc,
  ROUTE_RESPONSES,
} from "../scripts/openapi/responses.ts";
import { httpApiEvent } from "./support/events.ts";
import { type Harness, MAIN_SECRET, useBundleHarness } from "./support/harness.ts";

// biome-ignore lint/suspicious/noExplicitAny: the tests walk a generated JSON document by its known paths
type Json = Record<string, any>;

describe("docs/api.md", () => {
  it("has exactly the error-code table npm run openapi generates from the problem catalogue", () => {
    const committed = readFileSync(API_DOC_PATH, "utf8");
    expect(committed === renderApiDoc(committed), "docs/api.md is stale: run npm run openapi").toBe(true);
    for (const [code, { status }] of Object.entries(PROBLEMS)) {
      expect(committed).toContain(`| ${status} | \`${code}\` |`);
    }
  });
});

describe("docs/openapi.json", () => {
  it("is exactly what npm run openapi generates (regenerate it when this fails)", () => {
    const committed = readFileSync(OPENAPI_PATH, "utf8");
    expect(committed === renderOpenApiDocument(), "docs/openapi.json is stale: run npm run openapi").toBe(
      true,
    );
  });

  it("is a valid OpenAPI 3.1 document for a real validator", async () => {
    const document = JSON.parse(readFileSync(OPENAPI_PATH, "utf8"));
    expect(document.openapi).toBe("3.1.0");
    await expect(SwaggerParser.validate(document)).resolves.toBeTruthy();
  });

  it("is refused by the validator when broken, so the check above means something", async () => {
    const broken = buildOpenApiDocument() as Json;
    broken.paths["/transfers"].post.responses["200"].content["application/json"].schema = {
      $ref: "#/components/schemas/Nowhere",
    };
    await expect(SwaggerParser.validate(broken as never)).rejects.toThrow();
  });
});

describe("the document's contents", () => {
  const document = buildOpenApiDocument() as Json;
  const operation = document.paths["/transfers"].post;
  const mediaExamples = (response: Json) =>
    Object.values(response.content as Record<string, Json>).flatMap((media) =>
      Object.keys(media.examples ?? {}),
    );

  it.each(PROBLEM_CODES)("documents %s under its status, with an example", (code) => {
    const { status } = PROBLEMS[code];
    const example = document.components.examples[code];
    expect(problem.parse(example.value)).toMatchObject({ code, status });

    const { reach } = PROBLEM_CATALOGUE[code];
    if (reach === "operation") {
      expect(mediaExamples(operation.responses[String(status)])).toContain(code);
    } else if (reach === "other-routes") {
      const route = Object.entries(ROUTE_RESPONSES).find(([, r]) => r.status === status)?.[0] as string;
      expect(mediaExamples(document.components.responses[route])).toContain(code);
    } else {
      // Never an HTTP answer (direct invocations and events): in the code list and the description.
      expect(document.info.description).toContain(`\`${code}\``);
    }
    expect(document.components.schemas.Problem.properties.code.enum).toContain(code);
  });

  it("shows 200, 207, every problem status and API Gateway's own 401, 403 and 429", () => {
    const statuses = new Set([...Object.keys(operation.responses)]);
    for (const route of Object.values(ROUTE_RESPONSES)) statuses.add(String(route.status));
    const expected = ["200", "207", "401", "403", "429"];
    for (const code of PROBLEM_CODES) {
      if (PROBLEM_CATALOGUE[code].reach !== "not-http") expected.push(String(PROBLEMS[code].status));
    }
    expect([...statuses].sort()).toEqual([...new Set(expected)].sort());
    for (const status of ["401", "429"]) {
      expect(Object.keys(operation.responses[status].content)).toEqual(["application/json"]);
    }
    // 403: API Gateway's own answer, or the function's PORTAL_FORBIDDEN problem.
    expect(Object.keys(operation.responses["403"].content).sort()).toEqual([
      "application/json",
      "application/problem+json",
    ]);
  });

  it("declares Retry-After on 503 (and may on 409), idempotent-replayed on replays, and the Idempotency-Key header", () => {
    expect(operation.responses["503"].headers["Retry-After"]).toMatchObject({ required: true });
    // 409 is also the guard's refusal, which has nothing to wait for: only REQUEST_IN_PROGRESS sends it.
    expect(operation.responses["409"].headers["Retry-After"]).toMatchObject({ required: false });
    for (const status of ["200", "207"]) {
      expect(operation.responses[status].headers["idempotent-replayed"]).toBeDefined();
    }
    expect(document.components.responses.MethodNotAllowed.headers.Allow).toMatchObject({ required: true });
    expect(operation.parameters).toContainEqual(
      expect.objectContaining({ name: "Idempotency-Key", in: "header", required: false }),
    );
    expect(document.components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer" });
    expect(document.security).toEqual([{ bearerAuth: [] }]);
  });

  it("takes the request schemas from the function's own zod schemas", () => {
    const { TransferRequest, TransferBatch } = document.components.schemas;
    expect(Object.keys(TransferRequest.properties).sort()).toEqual(
      [
        "anyOperator",
        "chatId",
        "fallback",
        "guard",
        "leave",
        "message",
        "operatorId",
        "portal",
        "queueId",
      ].sort(),
    );
    expect(TransferRequest).toMatchObject({ additionalProperties: false, required: ["chatId"] });
    expect(TransferRequest.oneOf).toEqual([
      { required: ["operatorId"] },
      { required: ["queueId"] },
      { required: ["anyOperator"] },
    ]);
    expect(TransferBatch.properties.transfers).toMatchObject({
      minItems: 1,
      maxItems: 50,
      items: { $ref: "#/components/schemas/TransferRequest" },
    });
    for (const [name, example] of Object.entries(
      operation.requestBody.content["application/json"].examples,
    )) {
      expect(() => requireTransferInput((example as Json).value), name).not.toThrow();
    }
  });

  const allDocs: [string, ResponseDoc][] = [
    ...Object.entries(OPERATION_RESPONSES),
    ...Object.entries(ROUTE_RESPONSES).map(([name, r]): [string, ResponseDoc] => [name, r.doc]),
  ];
  it.each(allDocs)("response %s: every example matches the schema it is shown with", (_name, doc) => {
    for (const media of Object.values(doc.content)) {
      for (const example of media.examples) {
        const parsed = media.schema.safeParse(EXAMPLES[example]?.value);
        expect(parsed.success, `${example}: ${parsed.error?.message}`).toBe(true);
      }
    }
  });
});

/**
 * Real answers of the deployed bundle must match the schemas the document was generated from: the
 * status is documented, the body parses with the schema of its media type, and every header the
 * function sets (beyond content-type) is declared for that response, with a valid value.
 */
function expectDocumented(
  result: APIGatewayProxyStructuredResultV2,
  where: "operation" | "read" | "other-routes" = "operation",
): Json {
  const status = result.statusCode as number;
  const headers = (result.headers ?? {}) as Record<string, string>;
  const contentType = headers["content-type"] as string;
  const doc = documentedResponse(status, where);
  expect(doc && contentType in doc.content, `${status} ${contentType} is not documented`).toBe(true);
  const media = (doc as ResponseDoc).content[contentType as keyof ResponseDoc["content"]];
  const body = JSON.parse(result.body ?? "null");
  const parsed = media?.schema.safeParse(body);
  expect(parsed?.success, `${status} body does not match ${media?.schemaId}: ${parsed?.error?.message}`).toBe(
    true,
  );

  for (const [name, value] of Object.entries(headers)) {
    if (name === "content-type") continue;
    const use = doc?.headers.find((h) => h.header.toLowerCase() === name);
    expect(use, `header ${name} is not documented for ${status}`).toBeDefined();
    const schema = HEADERS[use?.header as keyof typeof HEADERS].schema;
    const typed = name === "retry-after" && /^[0-9]+$/.test(value) ? Number(value) : value;
    expect(schema.safeParse(typed).success, `${name}: ${value}`).toBe(true);
  }
  for (const use of doc?.headers ?? []) {
    if (use.required)
      expect(headers, `${use.header} is required on ${status}`).toHaveProperty(use.header.toLowerCase());
  }
  return body;
}

const TABLE = "b24-transfer-openapi-idempotency";
const h = useBundleHarness({ IDEMPOTENCY_TABLE: TABLE });
let dynamo: Awaited<ReturnType<typeof startDynamo>>;
beforeAll(async () => {
  dynamo = await startDynamo(TABLE);
  process.env.AWS_ENDPOINT_URL_DYNAMODB = dynamo.url;
});
afterAll(() => dynamo?.close());

const json = (value: unknown) => ({ body: JSON.stringify(value) });
const toOperator = (chatId = 112, operatorId = 12) => ({ chatId, operatorId });

async function answer(
  edit: Parameters<typeof httpApiEvent>[0],
  options: { timeoutMs?: number; handler?: ReturnType<Harness["newHandler"]> } = {},
): Promise<APIGatewayProxyStructuredResultV2> {
  const handler = options.handler ?? h.newHandler();
  return (await handler(
    httpApiEvent(edit),
    lambdaContext(options.timeoutMs ?? 28_000),
  )) as APIGatewayProxyStructuredResultV2;
}

/** Sets an environment variable for one handler's first request (its runtime reads it then). */
async function withEnv<T>(name: string, value: string, work: () => Promise<T>): Promise<T> {
  const previous = process.env[name];
  process.env[name] = value;
  try {
    return await work();
  } finally {
    // Assigning undefined would store the string "undefined".
    if (previous === undefined) delete process.env[name];
    else process.env[name] = previous;
  }
}

let keys = 0;
const newKey = () => `openapi-${Date.now()}-${keys++}`;

interface ProblemCase {
  code: ProblemCode;
  run: () => Promise<APIGatewayProxyStructuredResultV2>;
}

const problemCases: ProblemCase[] = [
  { code: "INVALID_JSON", run: () => answer({ body: '{"chatId": 112,' }) },
  { code: "VALIDATION_FAILED", run: () => answer(json({ chatId: 112, operatorID: 12 })) },
  { code: "NOT_FOUND", run: () => answer({ ...json(toOperator()), path: "/elsewhere" }) },
  { code: "METHOD_NOT_ALLOWED", run: () => answer({ method: "GET" }) },
  { code: "UNKNOWN_PORTAL", run: () => answer(json({ ...toOperator(), portal: "nowhere" })) },
  {
    code: "PORTAL_FORBIDDEN",
    run: () =>
      withEnv("CLIENT_PORTALS", JSON.stringify({ crm: ["main"] }), () =>
        answer({ ...json({ ...toOperator(), portal: "other" }), client: "crm" }),
      ),
  },
  {
    code: "REQUEST_IN_PROGRESS",
    run: async () => {
      h.sim.injectFault({ kind: "latency", ms: 400 });
      const key = newKey();
      const edit = {
        ...json(toOperator()),
        headers: { "content-type": "application/json", "idempotency-key": key },
      };
      const first = answer(edit);
      await new Promise((resolve) => setTimeout(resolve, 150));
      const duplicate = await answer(edit);
      await first;
      return duplicate;
    },
  },
  {
    code: "PAYLOAD_TOO_LARGE",
    run: () => answer({ body: JSON.stringify({ chatId: 112, pad: "x".repeat(17_000) }) }),
  },
  {
    code: "UNSUPPORTED_MEDIA_TYPE",
    run: () => answer({ body: "chatId=112", headers: { "content-type": "text/plain" } }),
  },
  {
    code: "IDEMPOTENCY_KEY_REUSED",
    run: async () => {
      const key = newKey();
      const headers = { "content-type": "application/json", "idempotency-key": key };
      await answer({ ...json(toOperator(112)), headers });
      return answer({ ...json(toOperator(113)), headers });
    },
  },
  { code: "TRANSFER_REJECTED", run: () => answer(json(toOperator(112, 13))) },
  { code: "INTERNAL_ERROR", run: () => withEnv("PORTALS", "not json", () => answer(json(toOperator()))) },
  {
    code: "PORTAL_MISCONFIGURED",
    run: () => {
      h.secrets.put(MAIN_SECRET, JSON.stringify({ webhookUrl: "REPLACE_ME" }));
      return answer(json(toOperator()));
    },
  },
  {
    code: "UPSTREAM_ERROR",
    run: () => {
      // oauth/auth.php onRestCheckAuth: the portal could not reach its auth server, every attempt.
      h.sim.injectFault({ kind: "error", status: 401, error: "CONNECTION_ERROR" }, { times: Infinity });
      return answer(json(toOperator()));
    },
  },
  {
    // Unreadable every time: the read shows it did not run, it is sent once more, then it stays unknown.
    code: "OUTCOME_UNKNOWN",
    run: () => {
      h.sim.injectFault({ kind: "malformed" }, { method: "imopenlines.bot.session.transfer", times: 2 });
      return answer(json(toOperator()));
    },
  },
  { code: "CHAT_NOT_WITH_BOT", run: () => answer(json(toOperator(121, 14))) },
  { code: "DIALOG_CLOSED", run: () => answer(json(toOperator(122))) },
  { code: "CHAT_NOT_READABLE", run: () => answer(json(toOperator(124, 14))) },
  {
    code: "RATE_LIMITED",
    run: () => {
      h.sim.injectFault({ kind: "error", status: 429, error: "OPERATION_TIME_LIMIT" });
      return answer(json(toOperator()));
    },
  },
  {
    code: "IDEMPOTENCY_UNAVAILABLE",
    run: () =>
      withEnv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:1", () =>
        answer({
          ...json(toOperator()),
          headers: { "content-type": "application/json", "idempotency-key": newKey() },
        }),
      ),
  },
  {
    code: "CREDENTIALS_UNAVAILABLE",
    run: () => {
      h.secrets.failNext("ThrottlingException", 10);
      return answer(json(toOperator()));
    },
  },
  {
    // No attempt can start: the Lambda's remaining time, less the 1 s kept back, is under 200 ms.
    code: "UPSTREAM_TIMEOUT",
    run: () => answer(json(toOperator()), { timeoutMs: 1_100 }),
  },
];

describe("real answers of the bundle match the document", () => {
  it("a single transfer: 200 TransferResponse", async () => {
    const body = expectDocumented(await answer(json(toOperator())));
    expect(transferResponse.parse(body)).toMatchObject({ transferred: true, chatId: 112 });
    expect(h.sim.ledger).toHaveLength(1);
  });

  it("a batch that fully succeeds: 200 BatchResponse", async () => {
    const result = await answer(json({ transfers: [toOperator(112), { chatId: 113, queueId: 3 }] }));
    expect(result.statusCode).toBe(200);
    expect(batchResponse.parse(expectDocumented(result))).toMatchObject({ succeeded: 2, failed: 0 });
  });

  it("a batch with a failed item: 207 BatchResponse with the item's problem", async () => {
    const result = await answer(json({ transfers: [toOperator(112), toOperator(113, 13), toOperator(114)] }));
    expect(result.statusCode).toBe(207);
    const body = batchResponse.parse(expectDocumented(result));
    expect(body).toMatchObject({ succeeded: 2, failed: 1 });
    expect(body.results[1]).toMatchObject({ transferred: false, problem: { code: "TRANSFER_REJECTED" } });
  });

  it("a replay: 200 with idempotent-replayed: true", async () => {
    const headers = { "content-type": "application/json", "idempotency-key": newKey() };
    expectDocumented(await answer({ ...json(toOperator()), headers }));
    const replay = await answer({ ...json(toOperator()), headers });
    expect(replay.headers?.["idempotent-replayed"]).toBe("true");
    expectDocumented(replay);
    expect(h.sim.ledger).toHaveLength(1);
  });

  it("the read's answers: 200 ChatReadResponse, 422 CHAT_NOT_READABLE, 400 VALIDATION_FAILED", async () => {
    const read = (chatId: string) =>
      answer({ method: "GET", path: `/transfers/chats/${chatId}`, body: null });
    const held = expectDocumented(await read("121"), "read");
    expect(held).toMatchObject({ chatId: 121, holder: { kind: "user", userId: 12 } });
    expect(expectDocumented(await read("124"), "read")).toMatchObject({ code: "CHAT_NOT_READABLE" });
    expect(expectDocumented(await read("abc"), "read")).toMatchObject({ code: "VALIDATION_FAILED" });
    expect(h.sim.ledger).toHaveLength(0);
  });

  it("covers every problem code the function answers over HTTP", () => {
    const reachable = [...codesReached("operation"), ...codesReached("other-routes")].sort();
    expect(problemCases.map((c) => c.code).sort()).toEqual(reachable);
  });

  it.each(problemCases)(
    "$code: the problem, its status and headers are as documented",
    async ({ code, run }) => {
      const result = await run();
      const where = PROBLEM_CATALOGUE[code].reach === "other-routes" ? "other-routes" : "operation";
      const body = expectDocumented(result, where);
      expect([result.statusCode, body.code]).toEqual([PROBLEMS[code].status, code]);
      expect(result.headers?.["content-type"]).toBe(PROBLEM_JSON);
    },
  );
});
