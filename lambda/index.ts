import { createHandler } from "./handler.ts";

export const handler = createHandler();

/** For tests and local tools that need a handler with its own caches. */
export { createHandler } from "./handler.ts";
