/**
 * Whether an `Accept` header names `type` (e.g. `multipart/mixed`) with the parameter `name=value`
 * (e.g. `subscriptionSpec=1.0`). Parameter names compare without case, values with or without
 * quotes, as RFC 9110 allows: Apollo Client sends `subscriptionSpec=1.0`, Apollo Router's
 * documentation `subscriptionSpec="1.0"`, and Hive Gateway adds `; charset=utf-8` after
 * `callbackSpec=1.0`.
 */
export function acceptsWithParameter(accept: string | null, type: string, name: string, value: string): boolean {
  if (!accept) return false;
  for (const range of accept.split(',')) {
    const [mediaType, ...parameters] = range.split(';').map((part) => part.trim());
    if (mediaType?.toLowerCase() !== type) continue;
    for (const parameter of parameters) {
      const equals = parameter.indexOf('=');
      if (equals < 0 || parameter.slice(0, equals).trim().toLowerCase() !== name.toLowerCase()) continue;
      if (
        parameter
          .slice(equals + 1)
          .trim()
          .replace(/^"(.*)"$/, '$1') === value
      )
        return true;
    }
  }
  return false;
}
