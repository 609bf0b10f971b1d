import { describe, expect, it } from "vitest";
import { printable, printableLines } from "../scripts/printable.ts";

/** Issue 25, Medium 2 and Low 7: what the tools print cannot forge or hide a line. */
describe("printable (every tool's output)", () => {
  it("escapes C0 and C1 controls, DEL, line separators and bidirectional overrides", () => {
    expect(printable("a\rb\nc\u0000d\u001be\u007ff\u0085g\u2028h\u202ei\u2066j\u200fk")).toBe(
      "a\\u000db\\u000ac\\u0000d\\u001be\\u007ff\\u0085g\\u2028h\\u202ei\\u2066j\\u200fk",
    );
  });

  it("leaves ordinary text alone: letters of any script, emoji, tabs are escaped too", () => {
    expect(printable("Оператор 👋 ok [b]x[/b] $5")).toBe("Оператор 👋 ok [b]x[/b] $5");
    expect(printable("\t")).toBe("\\u0009");
  });

  it("keeps a multi-line report's own line breaks", () => {
    expect(printableLines("HTTP 200\nx: a\rb")).toBe("HTTP 200\nx: a\\u000db");
  });
});
