import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { scoreTable } from "../mutation/summarize.ts";

/** docs/testing.md quotes mutation scores; they must be the committed summary's, not a hand-edited copy. */
describe("the mutation scores in docs/testing.md", () => {
  it("are the table mutation/summary.json renders", () => {
    const summary = JSON.parse(readFileSync(new URL("../mutation/summary.json", import.meta.url), "utf8"));
    const docs = readFileSync(new URL("../docs/testing.md", import.meta.url), "utf8");
    const table = /<!-- mutation-table:start[^>]*-->\n([\s\S]*?)\n<!-- mutation-table:end -->/.exec(
      docs,
    )?.[1];
    expect(table).toBe(scoreTable(summary.files));
    expect(table).toContain("| `bitrix24/client.ts` |");
  });
});
