import { GraphQLError } from 'graphql';
import { ErrorCode } from '../error-codes.js';
import type { Logger } from '../logger.js';
import { isRejectedKey } from '../schema/core/errors.js';

/**
 * Whether Yoga masks this error in the response: anything whose original error is not a
 * GraphQLError is an unexpected fault ("Unexpected error.").
 */
export function isMasked(error: GraphQLError): boolean {
  return error.originalError !== undefined && !(error.originalError instanceof GraphQLError);
}

/** The code a client sees for this error, as logs and metrics report it. */
export function reportedCode(error: GraphQLError): string {
  const code = error.extensions?.['code'];
  return typeof code === 'string' && !isMasked(error) ? code : ErrorCode.INTERNAL_SERVER_ERROR;
}

/**
 * Logs in full, with the logger's request id, every error Yoga is about to mask (the client sees
 * only "Unexpected error." and the id). telli rejecting this server's own key is fatal: every
 * request fails until an operator fixes TELLI_API_KEY, so it says so plainly, once per operation
 * (clients see `TELLI_SERVER_KEY_REJECTED` for it, unmasked).
 */
export function logMasked(logger: Logger, errors: readonly GraphQLError[], where: string): void {
  let alerted = false;
  for (const error of errors) {
    if (!alerted && !isMasked(error) && error.extensions?.['code'] === ErrorCode.TELLI_SERVER_KEY_REJECTED) {
      alerted = true;
      logger.fatal(
        { path: error.path, alert: 'telli-server-key-rejected' },
        `telli rejected this server's API key${where}: check TELLI_API_KEY`,
      );
    }
    if (!isMasked(error)) continue;
    const original = error.originalError;
    if (isRejectedKey(original)) {
      logger.fatal(
        { err: original, path: error.path, alert: 'telli-server-key-rejected' },
        `telli rejected this server's API key (HTTP ${original.status}): check TELLI_API_KEY`,
      );
    } else {
      logger.error({ err: original, path: error.path }, `unexpected error${where} (masked for the client)`);
    }
  }
}
