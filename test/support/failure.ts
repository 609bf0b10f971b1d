import { TransferError } from "../../lambda/domain/problems.ts";

/** The TransferError a promise rejects with; fails the test if it resolves or rejects with anything else. */
export async function failure(promise: Promise<unknown>): Promise<TransferError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TransferError) return error;
    throw error;
  }
  throw new Error("expected the call to fail with a TransferError");
}

/** The TransferError a call throws; fails the test if it returns or throws anything else. */
export function failureSync(call: () => unknown): TransferError {
  try {
    call();
  } catch (error) {
    if (error instanceof TransferError) return error;
    throw error;
  }
  throw new Error("expected the call to fail with a TransferError");
}
