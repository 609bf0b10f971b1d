/** API Gateway (HTTP API 2.0, REST API 1.0): every outcome is an HTTP answer, failures as RFC 9457 problems. */
import { type HttpRequest, jsonResult } from "../events/api-gateway.ts";
import { httpResult, problemResult } from "./answers.ts";
import { readChat } from "./chat-read.ts";
import { executeInput } from "./execute-input.ts";
import { asTransferError } from "./failures.ts";
import { idempotencyKey } from "./http/idempotency-key.ts";
import { CHAT_ROUTE, chatReadInput, readHttpTransferRequest } from "./http/read-request.ts";
import type { Handled, InvocationRun } from "./invocation-run.ts";
import { failureFields } from "./log-fields.ts";

export async function handleHttp(request: HttpRequest, run: InvocationRun): Promise<Handled> {
  const client = request.client === undefined ? {} : { client: request.client };
  try {
    const chatRead = chatReadInput(request);
    if (chatRead) {
      run.dependencies().service.authorize(request.client, [chatRead]);
      const read = await readChat(chatRead, run);
      const value = read.ok ? jsonResult(200, read.body) : problemResult(read.failure, run.requestId);
      return { log: { ...client, ...read.log }, result: { kind: "return", value } };
    }
    const input = readHttpTransferRequest(request);
    run
      .dependencies()
      .service.authorize(request.client, input.kind === "single" ? [input.request] : input.requests);
    const executed = await executeInput(input, idempotencyKey(request), run);
    const value =
      "failure" in executed
        ? problemResult(executed.failure, run.requestId)
        : httpResult(executed.answer, executed.replayed);
    return { log: { ...client, ...executed.log }, result: { kind: "return", value } };
  } catch (error) {
    const failure = asTransferError(error);
    return {
      log: { ...client, ...failureFields(failure) },
      result: {
        kind: "return",
        value: problemResult(failure, run.requestId, CHAT_ROUTE.test(request.path) ? "GET" : "POST"),
      },
    };
  }
}
