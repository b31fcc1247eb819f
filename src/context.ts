import { randomUUID } from 'node:crypto';
import { createLoaders, type Loaders } from './loaders/index.js';
import type { Logger } from './logger.js';
import type { TelliClient } from './telli/index.js';

/** Everything a resolver may use. Built fresh for every GraphQL request by `createContextFactory`. */
export interface Context {
  /** From the caller's `x-request-id` when it is sane, generated otherwise; on every log line. */
  requestId: string;
  logger: Logger;
  loaders: Loaders;
}

export interface ContextDeps {
  telli: TelliClient;
  /** The key every upstream call of this deployment uses (server key mode). */
  apiKey: string;
  logger: Logger;
}

/** Caller-supplied ids are echoed into logs and sent to telli: accept only a conservative shape. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestIdOf(request: Request): string {
  const given = request.headers.get('x-request-id');
  return given && REQUEST_ID.test(given) ? given : randomUUID();
}

export function createContextFactory(deps: ContextDeps) {
  return ({ request }: { request: Request }): Context => {
    const requestId = requestIdOf(request);
    return {
      requestId,
      logger: deps.logger.child({ requestId }),
      loaders: createLoaders(deps.telli, { apiKey: deps.apiKey, requestId, signal: request.signal }),
    };
  };
}
