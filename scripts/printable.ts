/**
 * What the tools print comes partly from elsewhere (a queue message, Bitrix24's answer, the function's
 * answer): a carriage return, an escape sequence or a bidirectional override in it could forge or hide
 * a line of the report. Such characters are printed as `\uXXXX` instead.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

export function printable(text: string): string {
  return text.replace(CONTROLS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Each line of a text made printable, the line breaks between them kept. */
export function printableLines(text: string): string {
  return text.split("\n").map(printable).join("\n");
}
