/**
 * The Lambda entry as a pipeline: recognise the event → read and run it (one handler per kind) →
 * answer → log. Each step returns what it produced; the log line and metrics are written once, here.
 */
import type { Context } from "aws-lambda";
import { TransferError } from "../domain/problems.ts";
import { classifyInvocation, type Invocation } from "../events/invocation.ts";
import { type InvocationLog, metricsOf, writeInvocationLog } from "../observability/invocation-log.ts";
import { publishMetrics } from "../observability/metrics.ts";
import { type Dependencies, defaultDependencies } from "./dependencies.ts";
import { handleDirect } from "./direct-handler.ts";
import { handleEvent } from "./event-handler.ts";
import { MAX_BODY_BYTES } from "./http/read-request.ts";
import { handleHttp } from "./http-handler.ts";
import type { Handled, InvocationRun } from "./invocation-run.ts";
import { failureFields } from "./log-fields.ts";

/** Kept back from the Lambda deadline, so a timed-out Bitrix24 call still ends in a clean answer. */
const SAFETY_MARGIN_MS = 1000;

export interface HandlerOptions {
  /** Built on first use, so a configuration error is reported per request, not as a crash at import. */
  dependencies?: () => Dependencies;
}

export function createHandler(options: HandlerOptions = {}) {
  let built: Dependencies | undefined;
  const dependencies = options.dependencies ?? (() => (built ??= defaultDependencies()));
  let coldStart = true;

  return async function handler(event: unknown, context: Context): Promise<unknown> {
    const started = Date.now();
    const cold = coldStart;
    coldStart = false;
    const invocation = classifyInvocation(event, MAX_BODY_BYTES);
    const run: InvocationRun = {
      context,
      dependencies,
      requestId: (invocation.kind === "http" && invocation.request.requestId) || context.awsRequestId,
      deadline: started + context.getRemainingTimeInMillis() - SAFETY_MARGIN_MS,
    };
    const handled = await handle(invocation, run);
    const log: InvocationLog = {
      requestId: run.requestId,
      source: invocation.kind === "event" ? invocation.origin.type : invocation.kind,
      outcome: "TRANSFERRED",
      status: 200,
      attempts: 0,
      coldStart: cold,
      ...handled.log,
      durationMs: Date.now() - started,
    };
    writeInvocationLog(log);
    publishMetrics(metricsOf(log));
    if (handled.result.kind === "throw") throw handled.result.error;
    return handled.result.value;
  };
}

function handle(invocation: Invocation, run: InvocationRun): Promise<Handled> {
  switch (invocation.kind) {
    case "http":
      return handleHttp(invocation.request, run);
    case "event":
      return handleEvent(invocation.origin, invocation.payload, run);
    case "direct":
      return handleDirect(invocation.payload, invocation.idempotencyKey, run);
    default: {
      const error = new TransferError("UNSUPPORTED_EVENT", { detail: invocation.detail });
      return Promise.resolve({ log: failureFields(error), result: { kind: "throw", error } });
    }
  }
}
