import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * Typed documents for the operations the tests send, generated from the committed SDL (never from
 * `src/`), the way a frontend team would. `npm run codegen:check` fails when they are stale.
 */
const config: CodegenConfig = {
  schema: 'schema/schema.graphql',
  documents: ['test/operations/**/*.graphql'],
  ignoreNoDocuments: false,
  emitLegacyCommonJSImports: false,
  generates: {
    'test/__generated__/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        strictScalars: true,
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: {
          DateTime: 'string',
          URL: 'string',
          PhoneNumber: 'string',
          EmailAddress: 'string',
          TimeZone: 'string',
          JSONObject: '{ [key: string]: unknown }',
          JSON: 'unknown',
          LocalDate: 'string',
        },
      },
    },
  },
};

export default config;
