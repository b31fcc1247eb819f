import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules', 'dist', 'test/__generated__', 'test-results', 'coverage', 'bench-results'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'error',
    },
  },
  {
    // Type-aware rules, over what ships and the scripts that build and check it. Not test/: there,
    // of 97 findings, 57 were vitest's asymmetric matchers (`expect.any(String)`), typed `any` on
    // purpose to stand in for any shape; 11 were Yoga or Hive Gateway instances handed to
    // `node:http` as listeners, their documented use; the other 29 were minor (redundant casts,
    // `async` fakes without an `await`). Checking test/ would cost half as much lint CPU again.
    files: ['src/**/*.ts', 'scripts/**/*.{ts,mjs}', '*.{ts,js}'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // An abort reason or a caught `unknown` is passed on as it is: wrapping it in an Error would
      // change what callers match with `instanceof` (cancel.ts already makes the default reason an
      // AbortError). A value we create ourselves is still required to be an Error.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
    },
  },
  {
    // Yoga and envelop hand a hook its helpers (`endResponse`, `setResult`, `setResultProcessor`,
    // `resultProcessor`…) as closures, but declare them as methods, so destructuring them reads to
    // the rule like losing `this`. They take no `this`; the rule stays on everywhere else.
    files: ['src/http/use-*.ts', 'src/http/transports/{callback,multipart,wire}.ts'],
    rules: { '@typescript-eslint/unbound-method': 'off' },
  },
);
