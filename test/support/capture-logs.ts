import { vi } from "vitest";
import { logger } from "../../lambda/observability/logger.ts";

/** Captures everything the in-process logger writes, at every level, until `stop()`. */
export function captureLogs() {
  const lines: string[] = [];
  const capture = (chunk: unknown) => {
    lines.push(String(chunk));
    return true;
  };
  const out = vi.spyOn(process.stdout, "write").mockImplementation(capture);
  const err = vi.spyOn(process.stderr, "write").mockImplementation(capture);
  logger.setLogLevel("DEBUG");
  return {
    lines,
    text: () => lines.join(""),
    stop() {
      logger.setLogLevel("SILENT");
      out.mockRestore();
      err.mockRestore();
    },
  };
}
