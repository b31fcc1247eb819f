import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

export interface CreateLoggerOptions {
  level: string;
  /** Where JSON lines go; stdout when omitted. Tests pass a memory stream. */
  destination?: DestinationStream;
}

/**
 * Paths that could carry a credential. Our own code never logs a key; this is the second line of
 * defence for objects that come from elsewhere (request headers, undici errors).
 */
const REDACT_PATHS = [
  'apiKey',
  '*.apiKey',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'req.headers.authorization',
];

export function createLogger({ level, destination }: CreateLoggerOptions): Logger {
  return pino(
    {
      level,
      base: { service: 'telli-graphql' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    destination,
  );
}

/** A logger whose lines are kept in memory, for tests and for the sandbox-less CLI tools. */
export function createMemoryLogger(level = 'debug'): {
  logger: Logger;
  lines: () => Record<string, unknown>[];
  text: () => string;
} {
  const chunks: string[] = [];
  const destination: DestinationStream = { write: (msg: string) => void chunks.push(msg) };
  const logger = createLogger({ level, destination });
  return {
    logger,
    text: () => chunks.join(''),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}
