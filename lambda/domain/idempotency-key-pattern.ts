/**
 * What a caller's idempotency key may be, wherever it comes from (the HTTP Idempotency-Key header, a
 * direct invocation's `idempotencyKey`): 1-255 visible ASCII characters. Also in the OpenAPI document.
 */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
