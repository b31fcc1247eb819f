import { GraphQLError } from 'graphql';
import { ErrorCode } from '../error-codes.js';

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
