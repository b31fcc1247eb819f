import { GraphQLError, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { ErrorCode } from '../error-codes.js';
import { errorResponse } from './responses.js';

/**
 * Every refusal of a GraphQL request gets a stable code and a message of our own. Yoga and its
 * plugins refuse some requests with a bare status (415, 406), with no code (CSRF's 403, a missing
 * variable), or with the JSON parser's own message echoed in `extensions.originalError`; graphql-js
 * stops validating a document that repeats fields too often with a bare "Validation aborted.".
 */
export function useRefusals(): Plugin {
  return {
    onRequestParse({ request, requestParser, setRequestParser, endResponse }) {
      // Yoga's parsers come first: when none of them took a GET or POST, its media type is unknown.
      // (Any other method is Yoga's 405, recoded below.)
      if (!requestParser) {
        if (request.method !== 'GET' && request.method !== 'POST') return;
        endResponse(
          errorResponse(
            415,
            ErrorCode.UNSUPPORTED_MEDIA_TYPE,
            'Send GraphQL as a POST with Content-Type: application/json, or as a GET with query parameters.',
          ),
        );
        return;
      }
      setRequestParser(async (request) => {
        try {
          return await requestParser(request);
        } catch (error) {
          throw ownRefusal(error);
        }
      });
    },
    onResultProcess({ result, setResult, resultProcessor, setResultProcessor }) {
      if (!resultProcessor) {
        setResultProcessor(
          () =>
            errorResponse(
              406,
              ErrorCode.NOT_ACCEPTABLE,
              'Accept application/graphql-response+json or application/json; for a subscription also text/event-stream, or multipart/mixed;subscriptionSpec=1.0 (Apollo).',
            ),
          'application/json',
        );
        return;
      }
      if (Array.isArray(result) || !isExecutionResult(result) || !result.errors?.length) return;
      const errors = result.errors.map(withOwnCode);
      if (errors.some((error, i) => error !== result.errors?.[i])) setResult({ ...result, errors });
    },
  };
}

function isExecutionResult(result: unknown): result is ExecutionResult {
  return typeof result === 'object' && result !== null && 'errors' in result;
}

const statusOf = (error: GraphQLError): number | undefined => error.extensions?.['http']?.status;

/** A request parser's failure, without the parser's own words. */
function ownRefusal(error: unknown): unknown {
  if (!(error instanceof GraphQLError) || statusOf(error) !== 400) return error;
  if (!/JSON/.test(error.message)) return error;
  return new GraphQLError('The request body is not valid JSON.', {
    extensions: { code: ErrorCode.BAD_REQUEST, http: { status: 400 } },
  });
}

/** graphql-js's message when OverlappingFieldsCanBeMergedRule runs out of its comparison budget. */
const VALIDATION_ABORTED = 'Validation aborted.';

function withOwnCode(error: GraphQLError): GraphQLError {
  const code = error.extensions?.['code'];
  const status = statusOf(error);
  if (error.message === VALIDATION_ABORTED && error.locations === undefined) {
    return new GraphQLError(
      'The document repeats fields too often to validate (graphql-js compares each pair of same-named fields, up to a fixed budget): merge the repeated fields.',
      { extensions: { code: ErrorCode.QUERY_TOO_COMPLEX, http: { status: 400 } } },
    );
  }
  if (status === 405) return recoded(error, ErrorCode.METHOD_NOT_ALLOWED);
  if (typeof code === 'string') return error;
  if (status === 403) {
    return new GraphQLError(
      'A POST with a text/plain, form or multipart body needs the x-graphql-yoga-csrf header (CSRF prevention: browsers send such POSTs cross-site without asking). Send JSON (Content-Type: application/json), which needs no header.',
      { extensions: { code: ErrorCode.CSRF_HEADER_REQUIRED, http: { status: 403 } } },
    );
  }
  // A location in the document but no path: the operation's variables could not be coerced.
  if (error.locations?.length && error.path === undefined) return recoded(error, ErrorCode.BAD_USER_INPUT);
  return recoded(error, ErrorCode.BAD_REQUEST);
}

function recoded(error: GraphQLError, code: ErrorCode): GraphQLError {
  return new GraphQLError(error.message, {
    ...(error.nodes && { nodes: error.nodes }),
    ...(error.source && { source: error.source }),
    ...(error.positions && { positions: error.positions }),
    ...(error.path && { path: error.path }),
    extensions: { ...error.extensions, code },
  });
}
