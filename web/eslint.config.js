// Lint rules, including the import boundaries of the layout (STYLE.md section 8, the
// bulletproof-react way): shared code (components, hooks, lib, config, types, utils) never
// imports features or app; features never import each other; lib/ never imports React or
// Chakra.
import { readdirSync } from 'node:fs';
import js from '@eslint/js';
import importPlugin from 'eslint-plugin-import';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import tseslint from 'typescript-eslint';

// Every folder under src/features is a feature: a new one is fenced in without editing this.
const FEATURES = readdirSync(new URL('./src/features', import.meta.url), { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name);

export default tseslint.config(
  { ignores: ['dist', 'node_modules'] },
  {
    files: ['**/*.{ts,tsx}'],
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    languageOptions: { ecmaVersion: 2022, globals: { ...globals.browser } },
    plugins: { 'react-hooks': reactHooks, import: importPlugin },
    settings: { 'import/resolver': { node: { extensions: ['.ts', '.tsx', '.js'] } } },
    rules: {
      ...reactHooks.configs.recommended.rules,
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'import/no-cycle': 'error',
      'import/no-restricted-paths': [
        'error',
        {
          zones: [
            ...FEATURES.map((f) => ({
              target: `./src/features/${f}`,
              from: './src/features',
              except: [`./${f}`],
              message: 'Features do not import each other; compose them in src/app.',
            })),
            {
              target: ['./src/features', './src/components', './src/hooks', './src/lib', './src/sw', './src/config', './src/types', './src/utils'],
              from: './src/app',
              message: 'Only the app imports the app layer.',
            },
            {
              target: ['./src/components', './src/hooks', './src/lib', './src/sw', './src/config', './src/types', './src/utils'],
              from: './src/features',
              message: 'Shared code does not import features.',
            },
            {
              target: './src/lib',
              from: ['./src/components', './src/hooks', './src/config'],
              message: 'lib/ is plain TypeScript: no UI code.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/lib/**/*.ts', 'src/sw/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['react', 'react-dom', 'react/*', 'react-dom/*'], message: 'lib/ never imports React.' },
            { group: ['@chakra-ui/*', '@emotion/*', 'lucide-react'], message: 'lib/ never imports UI libraries.' },
          ],
        },
      ],
    },
  },
  {
    files: ['vite.config.ts', 'build/**/*.ts', 'eslint.config.js'],
    languageOptions: { globals: { ...globals.node } },
  },
);
