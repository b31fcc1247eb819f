import type { ErrorCode } from '../error-codes.js';

/**
 * A refusal of the request edge in the GraphQL-over-HTTP error shape, so that a client reads every
 * refusal the same way: `{ errors: [{ message, extensions: { code } }] }` with a stable code.
 */
export function errorResponse(
  status: number,
  code: ErrorCode,
  message: string,
  headers: Record<string, string> = {},
): Response {
  return Response.json({ errors: [{ message, extensions: { code } }] }, { status, headers });
}
