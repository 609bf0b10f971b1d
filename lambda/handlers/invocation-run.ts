/** What every handler gets for one invocation, and what it hands back to the pipeline. */
import type { Context } from "aws-lambda";
import type { TransferError } from "../domain/problems.ts";
import type { Dependencies } from "./dependencies.ts";
import type { LogFields } from "./log-fields.ts";

export interface InvocationRun {
  context: Context;
  /** The id answers and logs carry: API Gateway's for HTTP, Lambda's otherwise. */
  requestId: string;
  /** Epoch ms by which every Bitrix24 call must be over. */
  deadline: number;
  /** Built on first use, so a configuration error is reported per request, not as a crash at import. */
  dependencies: () => Dependencies;
}

/** A handler's result: the log fields it learnt, and what to return or throw. */
export interface Handled {
  log: LogFields;
  result: { kind: "return"; value: unknown } | { kind: "throw"; error: TransferError };
}
