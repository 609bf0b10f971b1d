/**
 * Node 20 reached its end of life in April 2026 and the AWS SDK for JavaScript drops it in January
 * 2027; until then the SDK prints a nine-line NodeVersionSupportWarning on every run of a tool that
 * uses it. The tools print one line instead, and nothing on Node 22 or newer.
 */
export const NODE_20_NOTE =
  "note: Node 20 is past its end of life; the AWS SDK supports it until January 2027. Use Node 22 or newer.";

/** Call before the first AWS SDK client is used; `note` receives at most one line. */
export function replaceSdkNodeWarning(note: (line: string) => void, version = process.version): void {
  const major = Number(version.replace(/^v/, "").split(".")[0]);
  if (major >= 22) return;
  if (process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED === undefined) note(NODE_20_NOTE);
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
}
