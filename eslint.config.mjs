// Lint, with the layering rules of DESIGN.md enforced per folder.
import js from '@eslint/js'
import reactHooks from 'eslint-plugin-react-hooks'
import globals from 'globals'
import tseslint from 'typescript-eslint'

const restrict = (patterns, message) => ({
  'no-restricted-imports': ['error', { patterns: [{ group: patterns, message }] }],
})

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'node_modules/**', 'test-results/**', 'playwright-report/**', '.tmp/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/explicit-function-return-type': 'off',
      'no-empty': ['error', { allowEmptyCatch: false }],
    },
  },
  {
    files: ['src/shared/**/*.ts'],
    rules: restrict(['**/core/**', '**/main/**', '**/renderer/**', '**/preload/**', '**/cli/**', 'electron', 'react', 'node:*'],
      'src/shared is imported by every process: types, constants and zod schemas only'),
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      ...restrict(['**/main/**', '**/renderer/**', '**/preload/**', '**/cli/**', 'electron', 'react', 'react-dom'],
        'src/core is a plain-Node library: it may use src/shared, node:* and its own libraries'),
      'no-console': 'error',
    },
  },
  {
    files: ['src/cli/**/*.ts'],
    rules: restrict(['**/main/**', '**/renderer/**', '**/preload/**', 'electron', 'react'],
      'src/cli uses src/core and src/shared only'),
  },
  {
    files: ['src/main/**/*.ts'],
    rules: restrict(['**/renderer/**', '**/preload/**', '**/cli/**', 'react'],
      'src/main may use src/core, src/shared and electron'),
  },
  {
    files: ['src/preload/**/*.ts'],
    rules: restrict(['**/core/**', '**/main/**', '**/renderer/**', '**/cli/**', 'node:*', 'react'],
      'src/preload exposes the typed contract from src/shared through contextBridge, nothing else'),
  },
  {
    files: ['src/renderer/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      ...restrict(['**/core/**', '**/main/**', '**/preload/**', '**/cli/**', 'electron', 'node:*'],
        'src/renderer talks to the core only through the Api interface (shared types, browser libraries)'),
    },
  },
  {
    files: ['**/*.test.{ts,tsx}', 'test/**/*.ts', 'e2e/**/*.ts', 'bench/**/*.{ts,mjs}'],
    rules: { 'no-restricted-imports': 'off', 'no-console': 'off' },
  },
)
