import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as z from "zod";
import { IDEMPOTENCY_KEY_PATTERN } from "../../lambda/domain/idempotency-key-pattern.ts";
import { PROBLEMS } from "../../lambda/domain/problems.ts";
import {
  MAX_BATCH_ITEMS,
  PORTAL_NAME_PATTERN,
  transferBatchSchema,
  transferRequestSchema,
} from "../../lambda/domain/transfer-request.ts";
import { MAX_BODY_BYTES } from "../../lambda/handlers/http/read-request.ts";
import { TRANSFER_DETAIL_TYPE } from "../../lambda/names.ts";
import { PROBLEM_CATALOGUE, PROBLEM_CODES } from "./problem-catalogue.ts";
import {
  batchItemFailure,
  batchItemProblem,
  batchResponse,
  bitrix24Error,
  fieldError,
  gatewayMessage,
  problem,
  transferResponse,
  transferResult,
  transferTarget,
} from "./response-schemas.ts";
import {
  EXAMPLES,
  HEADERS,
  type HeaderUse,
  OPERATION_RESPONSES,
  READ_RESPONSES,
  type ResponseDoc,
  ROUTE_RESPONSES,
} from "./responses.ts";

/**
 * The OpenAPI 3.1 document, generated from the function's own zod schemas (requests) and the response
 * schemas beside it, so there is one source of truth. `npm run openapi` writes it to docs/openapi.json.
 */

type JsonObject = Record<string, unknown>;

export const OPENAPI_PATH = fileURLToPath(new URL("../../docs/openapi.json", import.meta.url));

const SCHEMA_REF = "#/components/schemas/";
const JSON_SCHEMA_OPTIONS = { target: "draft-2020-12", uri: (id: string) => `${SCHEMA_REF}${id}` } as const;

type RequestField = keyof z.input<typeof transferRequestSchema>;

/** Field descriptions; keyed by the schema's own fields, so a new field does not compile undocumented. */
const REQUEST_FIELDS: Record<RequestField, string> = {
  chatId:
    'The Open Lines chat (Bitrix24 CHAT_ID). A string of digits such as "112" is accepted (many CRMs serialise ids as strings), and so is the dialog id "chat112".',
  operatorId:
    "The employee who receives the chat (Bitrix24 USER_ID). Give exactly one of operatorId, queueId or anyOperator.",
  queueId:
    "The open line (queue) that receives the chat: the ID from imopenlines.config.list.get (Bitrix24 QUEUE_ID).",
  anyOperator:
    "true: the chat goes to whichever operator of its own open line is free (imopenlines.bot.session.operator). Refused (422 TRANSFER_REJECTED, WRONG_CHAT) when the chat is no longer with a bot.",
  leave:
    "Sent as LEAVE=Y (true) or LEAVE=N (false, default). Bitrix24 reads it only for a transfer to a user, and there drops the bot only once the dialogue was answered; a queue transfer keeps the bot whatever LEAVE says (chat.php transferToQueue). The answer's chat.botInChat says what is known. Not used with anyOperator.",
  guard:
    "Default true: read the chat first (imopenlines.dialog.get) and hand it over only while no person holds it or has been offered it and its dialogue is open; otherwise 409 CHAT_NOT_WITH_BOT or DIALOG_CLOSED and nothing is sent. false: hand it over unread, e.g. to move a chat on purpose from one operator to another.",
  message:
    'Written into the chat by the bot just before the hand-over (imopenlines.bot.session.message.send, NAME=DEFAULT), e.g. "Connecting you to a specialist, one moment". 1-2000 characters. If it fails, the hand-over still runs and the answer says so.',
  fallback:
    'One alternative target ({"operatorId": n}, {"queueId": n} or {"anyOperator": true}), tried only when Bitrix24 refused the target without doing anything (OPERATOR_WRONG, USER_ID_EMPTY, …), never after an unknown outcome.',
  portal: "Which configured portal; the default portal when absent.",
};

/** JSON Schema has no word for zod's superRefine: "exactly one target" is spelt out here. */
function describeRequestSchema(ctx: { zodSchema: unknown; jsonSchema: JsonObject }): void {
  if (ctx.zodSchema === transferRequestSchema) {
    const properties = ctx.jsonSchema.properties as Record<string, JsonObject>;
    for (const [field, description] of Object.entries(REQUEST_FIELDS)) {
      const property = properties[field];
      if (!property) throw new Error(`REQUEST_FIELDS names ${field}, which the schema does not have`);
      property.description = description;
    }
    ctx.jsonSchema.oneOf = [
      { required: ["operatorId"] },
      { required: ["queueId"] },
      { required: ["anyOperator"] },
    ];
    ctx.jsonSchema.description =
      "One transfer. Unknown fields are refused: a typo such as operatorID must never transfer a chat to nobody.";
  }
  if (ctx.zodSchema === transferBatchSchema) {
    ctx.jsonSchema.description = `Up to ${MAX_BATCH_ITEMS} transfers, sent to Bitrix24 as one batch (one hit against the portal's rate limit). A chat may appear only once.`;
  }
}

/** Component schemas carry no $schema or $id of their own inside an OpenAPI document. */
function asComponents(generated: { schemas: Record<string, JsonObject> }): Record<string, JsonObject> {
  return Object.fromEntries(
    Object.entries(generated.schemas).map(([id, { $schema: _dialect, $id: _id, ...schema }]) => [id, schema]),
  );
}

function requestSchemas(): Record<string, JsonObject> {
  const registry = z.registry<{ id: string }>();
  registry.add(transferRequestSchema, { id: "TransferRequest" });
  registry.add(transferBatchSchema, { id: "TransferBatch" });
  return asComponents(
    z.toJSONSchema(registry, { ...JSON_SCHEMA_OPTIONS, io: "input", override: describeRequestSchema }),
  );
}

function allResponseDocs(): ResponseDoc[] {
  return [
    ...Object.values(OPERATION_RESPONSES),
    ...Object.values(READ_RESPONSES),
    ...Object.values(ROUTE_RESPONSES).map((r) => r.doc),
  ];
}

function responseSchemas(): Record<string, JsonObject> {
  const named = new Map<string, z.ZodType>([
    ["TransferTarget", transferTarget],
    ["TransferResult", transferResult],
    ["TransferResponse", transferResponse],
    ["FieldError", fieldError],
    ["Bitrix24Error", bitrix24Error],
    ["Problem", problem],
    ["BatchItemProblem", batchItemProblem],
    ["BatchItemFailure", batchItemFailure],
    ["BatchResponse", batchResponse],
    ["GatewayMessage", gatewayMessage],
  ]);
  for (const doc of allResponseDocs()) {
    for (const media of Object.values(doc.content)) {
      const known = named.get(media.schemaId);
      if (known && known !== media.schema) throw new Error(`two schemas are named ${media.schemaId}`);
      named.set(media.schemaId, media.schema);
    }
  }
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of named) registry.add(schema, { id });
  return asComponents(z.toJSONSchema(registry, { ...JSON_SCHEMA_OPTIONS, io: "output" }));
}

function headerObject({ header, required }: HeaderUse): JsonObject {
  const { schema, description } = HEADERS[header];
  const { $schema: _dialect, ...json } = z.toJSONSchema(schema, { target: "draft-2020-12" });
  return { description, required, schema: json };
}

function responseObject(doc: ResponseDoc): JsonObject {
  const response: JsonObject = {
    description: doc.description,
    content: Object.fromEntries(
      Object.entries(doc.content).map(([mediaType, media]) => [
        mediaType,
        {
          schema: { $ref: `${SCHEMA_REF}${media.schemaId}` },
          examples: Object.fromEntries(
            media.examples.map((name) => [name, { $ref: `#/components/examples/${name}` }]),
          ),
        },
      ]),
    ),
  };
  if (doc.headers.length > 0) {
    response.headers = Object.fromEntries(doc.headers.map((use) => [use.header, headerObject(use)]));
  }
  return response;
}

function problemTable(): string {
  const rows = PROBLEM_CODES.map((code) => {
    const { when, retry } = PROBLEM_CATALOGUE[code];
    return `| ${PROBLEMS[code].status} | \`${code}\` | ${when} | ${retry} |`;
  });
  return ["| status | code | when | retry? |", "|---|---|---|---|", ...rows].join("\n");
}

const DESCRIPTION = `Hand a Bitrix24 Open Lines conversation to an operator or a queue with one small HTTP call. The function calls Bitrix24's \`imopenlines.bot.session.transfer\` (or one \`batch\` for up to ${MAX_BATCH_ITEMS} transfers) with the portal's webhook from AWS Secrets Manager; the request can never name a host.

Every error the function answers is an RFC 9457 problem (\`application/problem+json\`) with a stable \`code\` to branch on and the \`requestId\` to quote to operators. API Gateway answers \`401\`, \`403\` and \`429\` itself, before the function runs, with \`{"message": …}\`.

## Problem codes

${problemTable()}

## Beyond HTTP

The same requests (single or batch) also arrive as EventBridge events with detail-type \`${TRANSFER_DETAIL_TYPE}\` and the request as \`detail\`, as schedule inputs \`{"schedule", "eventId", "eventTime", "request"}\`, and as direct invocations whose payload is the request. A direct invocation's failure is thrown with the code as \`errorType\`; events put each item that finally failed on the failure queue with its problem. Sample events for every kind are in the repository's \`events/\` folder (\`npm run invoke\`).`;

export function buildOpenApiDocument(): JsonObject {
  const { version, license } = JSON.parse(
    readFileSync(new URL("../../package.json", import.meta.url), "utf8"),
  ) as { version: string; license: string };

  return {
    openapi: "3.1.0",
    info: {
      title: "b24-transfer",
      version,
      summary: "Hand a Bitrix24 Open Lines chat to an operator or queue",
      description: DESCRIPTION,
      license: { name: license, identifier: license },
    },
    servers: [
      {
        url: "https://{apiId}.execute-api.{region}.amazonaws.com",
        description: "The deployed HTTP API: the stack output TransfersUrl, with the API's id and region",
        variables: { apiId: { default: "abcdef1234" }, region: { default: "eu-central-1" } },
      },
      { url: "http://127.0.0.1:3000", description: "`npm start`: the real bundle against the simulator" },
    ],
    security: [{ bearerAuth: [] }],
    paths: {
      "/transfers": {
        post: {
          operationId: "transferChats",
          summary: "Transfer a chat (or up to 50) to an operator or a queue",
          description: `Answers once Bitrix24 has confirmed or refused; retries what is worth retrying (QUERY_LIMIT_EXCEEDED, 5xx, network errors) within the deadline. The body is at most ${MAX_BODY_BYTES} bytes.`,
          parameters: [
            {
              name: "Idempotency-Key",
              in: "header",
              required: false,
              description:
                "Makes retries safe: within 24 hours the same key (per client) returns the stored answer with `idempotent-replayed: true` instead of transferring again; the same key with another body is 422 IDEMPOTENCY_KEY_REUSED, and a duplicate that arrives while the first runs is 409 REQUEST_IN_PROGRESS.",
              schema: { type: "string", pattern: IDEMPOTENCY_KEY_PATTERN.source },
              example: "crm-4711-handover",
            },
          ],
          requestBody: {
            required: true,
            content: {
              "application/json": {
                schema: {
                  oneOf: [{ $ref: `${SCHEMA_REF}TransferRequest` }, { $ref: `${SCHEMA_REF}TransferBatch` }],
                },
                examples: {
                  toOperator: { summary: "To an operator", value: { chatId: 112, operatorId: 12 } },
                  toQueue: {
                    summary: "To a queue, the bot leaving at once",
                    value: { chatId: "113", queueId: 3, leave: true },
                  },
                  batch: {
                    summary: "A batch",
                    value: {
                      transfers: [
                        { chatId: 112, operatorId: 12 },
                        { chatId: 113, queueId: 3, leave: true },
                      ],
                    },
                  },
                },
              },
            },
          },
          responses: Object.fromEntries(
            Object.entries(OPERATION_RESPONSES).map(([status, doc]) => [status, responseObject(doc)]),
          ),
        },
      },
      "/transfers/chats/{chatId}": {
        get: {
          operationId: "readChat",
          summary: "Read a chat: who holds it, its dialogue, session, line and CRM binding",
          description:
            "One imopenlines.dialog.get (and, when the chat has an owner, the portal's bot list, kept for 5 minutes). Read-only: use it before re-sending a hand-over that ended in OUTCOME_UNKNOWN. The webhook's user needs the line's JOIN permission (Config::canJoin), or Bitrix24 answers ACCESS_ERROR (422 CHAT_NOT_READABLE).",
          parameters: [
            {
              name: "chatId",
              in: "path",
              required: true,
              description: 'The Open Lines chat id, or its dialog id "chat112"',
              schema: { type: "string", pattern: "^(chat)?[1-9][0-9]{0,15}$" },
              example: "112",
            },
            {
              name: "portal",
              in: "query",
              required: false,
              description: "Which configured portal; the default portal when absent",
              schema: { type: "string", pattern: PORTAL_NAME_PATTERN.source },
            },
          ],
          responses: Object.fromEntries(
            Object.entries(READ_RESPONSES).map(([status, doc]) => [status, responseObject(doc)]),
          ),
        },
      },
    },
    components: {
      schemas: { ...requestSchemas(), ...responseSchemas() },
      responses: Object.fromEntries(
        Object.entries(ROUTE_RESPONSES).map(([name, { doc }]) => [name, responseObject(doc)]),
      ),
      examples: EXAMPLES,
      securitySchemes: {
        bearerAuth: {
          type: "http",
          scheme: "bearer",
          description:
            "A client token minted with `npm run client-token -- <client>`. Stacks deployed with `authorization: iam` take SigV4-signed requests instead.",
        },
      },
    },
  };
}

/** The file's exact text: stable key order and a final newline, so regenerating changes nothing. */
export const renderOpenApiDocument = (): string => `${JSON.stringify(buildOpenApiDocument(), null, 2)}\n`;
