/**
 * JSON.parse keeps the last of two equal keys, so `{"chatId":1,"operatorId":2,"chatId":3}` would move
 * chat 3 while a proxy, a log or a WAF rule that keeps the first saw chat 1. A body with a duplicate
 * key is refused instead. Runs on text JSON.parse already accepted (at most 16 KiB).
 */
export function firstDuplicateKey(json: string): string | undefined {
  // One entry per open container: the keys seen so far in an object, undefined for an array.
  const open: (Set<string> | undefined)[] = [];
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === "{") open.push(new Set());
    else if (c === "[") open.push(undefined);
    else if (c === "}" || c === "]") open.pop();
    else if (c === '"') {
      const end = stringEnd(json, i);
      const keys = open.at(-1);
      if (keys && nextNonSpace(json, end + 1) === ":") {
        // Compared decoded: "\u0063hatId" is chatId.
        const key = JSON.parse(json.slice(i, end + 1)) as string;
        if (keys.has(key)) return key;
        keys.add(key);
      }
      i = end;
    }
  }
  return undefined;
}

/** The index of the quote that closes the string opening at `start`. */
function stringEnd(json: string, start: number): number {
  let i = start + 1;
  while (json[i] !== '"') i += json[i] === "\\" ? 2 : 1;
  return i;
}

function nextNonSpace(json: string, from: number): string | undefined {
  let i = from;
  while (json[i] === " " || json[i] === "\t" || json[i] === "\n" || json[i] === "\r") i++;
  return json[i];
}
