/**
 * The floor of the cold-start comparison: a bundle with a handler that does nothing but return. What a
 * fresh Node process costs before any handler does any work; every other variant is measured against it.
 */
export async function handler(_event: unknown): Promise<{ ok: true }> {
  return { ok: true };
}

export const createHandler = () => handler;
