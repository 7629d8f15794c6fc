// ESLint (flat config) for the TypeScript of lib/, bench/, test/, test-gpu/ and scripts/*.ts:
// typescript-eslint's recommended rules with type information, plus stricter ones the code
// meets. Formatting is Prettier's (npm run format); eslint-config-prettier turns off the rules
// that would fight it. npm run lint runs both.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['build/**', 'build-*/**', 'dist/**', 'node_modules/**', 'prebuilds/**', 'csrc/**', 'test/fixtures/**'] },
  {
    files: ['lib/**/*.ts', 'bench/**/*.ts', 'test/**/*.ts', 'test-gpu/**/*.ts', 'scripts/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // No `any` anywhere (public types included): unknown plus a check, or a real type.
      '@typescript-eslint/no-explicit-any': 'error',
      // Type-only imports say so (they vanish from the emitted JS).
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-import-type-side-effects': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/restrict-plus-operands': [
        'error',
        { allowAny: false, allowBoolean: false, allowNullish: false, allowNumberAndString: false, allowRegExp: false },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-meaningless-void-operator': 'error',
      '@typescript-eslint/prefer-optional-chain': 'error',
      '@typescript-eslint/prefer-nullish-coalescing': 'error',
      '@typescript-eslint/no-unnecessary-boolean-literal-compare': 'error',
      '@typescript-eslint/no-unnecessary-template-expression': 'error',
      '@typescript-eslint/prefer-includes': 'error',
      '@typescript-eslint/prefer-string-starts-ends-with': 'error',
      '@typescript-eslint/no-extraneous-class': 'error',
      '@typescript-eslint/no-dynamic-delete': 'error',
      '@typescript-eslint/no-invalid-void-type': 'error',
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'no-var': 'error',
      'prefer-const': 'error',
    },
  },
  prettier,
);
