import { describe, expect, it } from "vitest";
import { type BatchCommand, packBatches, readBatchAnswer } from "../lambda/bitrix24/batch.ts";

/**
 * Reading each command's outcome from a `batch` answer (rest_provider.php `batch` with `halt: 0`: every
 * command leaves an entry in `result` or `result_error`). What matters is never calling a command done,
 * or worth sending again, when it may have run.
 */
const read = (answer: unknown, keys = ["t0"], secrets: string[] = []) =>
  readBatchAnswer(answer, keys, secrets);
const outcome = (answer: unknown) => read(answer).get("t0");

describe("a batch command's outcome", () => {
  it("is done only when its result is exactly true", () => {
    expect(outcome({ result: { t0: true } })).toEqual({ ok: true });
    for (const result of [false, "true", 1, null, {}]) {
      const unconfirmed = outcome({ result: { t0: result } });
      expect(unconfirmed).toMatchObject({ ok: false, retry: false, error: { code: "OUTCOME_UNKNOWN" } });
    }
  });

  it("is unknown, and never sent again, when the answer has no entry for it", () => {
    for (const answer of [
      {},
      { result: {} },
      { result: [] },
      { result: "nonsense" },
      { result_error: {} },
      null,
    ]) {
      const missing = outcome(answer);
      expect(missing).toMatchObject({ ok: false, retry: false, error: { code: "OUTCOME_UNKNOWN" } });
      expect(missing?.ok === false && missing.error.details.detail).toMatch(/gave no answer/);
    }
    const unconfirmed = outcome({ result: { t0: false } });
    expect(unconfirmed?.ok === false && unconfirmed.error.details.detail).toMatch(/did not confirm/);
  });

  it("reads result_error even when the answer has no result block", () => {
    expect(
      outcome({ result_error: { t0: { error: "OPERATOR_WRONG", error_description: "x" } } }),
    ).toMatchObject({
      ok: false,
      retry: false,
      error: { code: "TRANSFER_REJECTED", details: { bitrix24: { error: "OPERATOR_WRONG" } } },
    });
  });

  it("takes an error entry without a string code for no refusal: the command may have run", () => {
    for (const entry of [{ error: 42 }, { error_description: "refused" }, "OPERATOR_WRONG"]) {
      expect(outcome({ result: {}, result_error: { t0: entry } })).toMatchObject({
        ok: false,
        retry: false,
        error: { code: "OUTCOME_UNKNOWN" },
      });
    }
    // ...and the result still counts when a malformed error entry sits beside it.
    expect(outcome({ result: { t0: true }, result_error: { t0: { error: 42 } } })).toEqual({ ok: true });
  });

  it("is unknown when the command failed inside Bitrix24 (ERROR_CORE), keeping Bitrix24's code", () => {
    for (const error of ["ERROR_CORE", "INTERNAL_SERVER_ERROR"]) {
      expect(outcome({ result_error: { t0: { error, error_description: "boom" } } })).toMatchObject({
        ok: false,
        retry: false,
        error: { code: "OUTCOME_UNKNOWN", details: { bitrix24: { error, description: "boom" } } },
      });
    }
  });

  it("is sent again when refused alone before it ran (rate limit, operating time), with the wait to suggest; other refusals are final", () => {
    const limited = outcome({ result_error: { t0: { error: "QUERY_LIMIT_EXCEEDED" } } });
    expect(limited).toMatchObject({
      ok: false,
      retry: true,
      error: { code: "RATE_LIMITED", details: { retryAfter: 1 } },
    });
    // LoadLimiter refuses the command alone (issue 24): the batch's next round may send it again.
    const spent = outcome({ result_error: { t0: { error: "OPERATION_TIME_LIMIT" } } });
    expect(spent).toMatchObject({ ok: false, retry: true, error: { details: { retryAfter: 600 } } });
    const rejected = outcome({ result_error: { t0: { error: "USER_ID_EMPTY" } } });
    expect(rejected?.ok === false && Object.keys(rejected.error.details)).not.toContain("retryAfter");
  });

  it("explains a portal's setup problem the way a single call does", () => {
    const denied = outcome({ result_error: { t0: { error: "ACCESS_DENIED" } } });
    expect(denied).toMatchObject({ ok: false, retry: false, error: { code: "PORTAL_MISCONFIGURED" } });
    expect(denied?.ok === false && denied.error.details.detail).toMatch(/clientId.*imbot\.register/);
  });

  it("keeps the portal's secrets out of a command's error text", () => {
    const secret = "k3y5ecr3t";
    const answer = {
      result_error: { t0: { error: "USER_ID_EMPTY", error_description: `bad /rest/1/${secret}/` } },
    };
    const refused = read(answer, ["t0"], [secret]).get("t0");
    expect(JSON.stringify(refused?.ok === false && refused.error.details)).not.toContain(secret);
  });

  it("answers for exactly the keys asked, each from its own entry", () => {
    const answer = { result: { m0: true, t0: false }, result_error: { t1: { error: "OPERATOR_WRONG" } } };
    const outcomes = read(answer, ["m0", "t0", "t1"]);
    expect([...outcomes.keys()]).toEqual(["m0", "t0", "t1"]);
    expect(outcomes.get("m0")).toEqual({ ok: true });
    expect(outcomes.get("t0")).toMatchObject({ error: { code: "OUTCOME_UNKNOWN" } });
    expect(outcomes.get("t1")).toMatchObject({ error: { code: "TRANSFER_REJECTED" } });
  });
});

describe("packing groups into batch calls", () => {
  const group = (size: number) => ({
    commands: Array.from(
      { length: size },
      (_, i): BatchCommand => ({
        key: `c${i}`,
        call: { method: "im.message.add", params: {} },
      }),
    ),
  });

  it("makes no call for no groups", () => {
    expect(packBatches([])).toEqual([]);
  });

  it("sends a group larger than one call alone, without an empty call before it", () => {
    const big = group(51);
    expect(packBatches([big])).toEqual([[big]]);
    const small = group(1);
    expect(packBatches([small, big])).toEqual([[small], [big]]);
  });
});
