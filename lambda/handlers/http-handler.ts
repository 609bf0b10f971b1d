/** API Gateway (HTTP API 2.0, REST API 1.0): every outcome is an HTTP answer, failures as RFC 9457 problems. */
import type { HttpRequest } from "../events/api-gateway.ts";
import { httpResult, problemResult } from "./answers.ts";
import { executeInput } from "./execute-input.ts";
import { asTransferError } from "./failures.ts";
import { idempotencyKey } from "./http/idempotency-key.ts";
import { readHttpTransferRequest } from "./http/read-request.ts";
import type { Handled, InvocationRun } from "./invocation-run.ts";
import { failureFields } from "./log-fields.ts";

export async function handleHttp(request: HttpRequest, run: InvocationRun): Promise<Handled> {
  const client = request.client === undefined ? {} : { client: request.client };
  try {
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
      result: { kind: "return", value: problemResult(failure, run.requestId) },
    };
  }
}
