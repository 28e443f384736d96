import { defineConfig, globalIgnores } from 'eslint/config'
import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import globals from 'globals'

// zod by any name (zod, zod/v4, zod/mini, zod/v4/core): only src/platform/zod.ts imports it.
const ZOD_MESSAGE =
  "Import zod as `import * as z from '.../platform/zod.js'`: it turns zod's JIT off before any schema is built, and the bundler keeps only the parts of zod in use."
const ZOD = { regex: '^zod(/|$)', message: ZOD_MESSAGE }

export default defineConfig(
  globalIgnores(['dist/', 'coverage/', 'node_modules/', 'bench/results/', '.tmp/']),
  {
    files: ['**/*.{js,ts}'],
    extends: [js.configs.recommended, tseslint.configs.recommended],
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }
      ],
      '@typescript-eslint/no-explicit-any': 'error'
    }
  },
  // The layout: src/platform/ is shared and imports neither action; each action (src/connection/,
  // src/dataflow/) imports only the platform and its own folder.
  {
    files: ['src/platform/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ZOD,
            {
              regex: '^\\.\\./(?!\\.\\./package\\.json$)',
              message: 'src/platform/ is shared by both actions: it imports only its own modules.'
            }
          ]
        }
      ]
    }
  },
  {
    files: ['src/connection/**/*.ts', 'src/dataflow/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ZOD,
            {
              regex: '^\\.\\./(?!platform/)',
              message:
                'An action imports only src/platform/ and its own folder, never the other action.'
            }
          ]
        }
      ]
    }
  },
  {
    // A dynamic import() of zod, which no-restricted-imports does not see.
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: 'ImportExpression[source.value=/^zod(\\/|$)/]', message: ZOD_MESSAGE }
      ]
    }
  },
  {
    // The one module that imports zod itself.
    files: ['src/platform/zod.ts'],
    rules: {
      'no-restricted-syntax': 'off',
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^\\.\\./(?!\\.\\./package\\.json$)',
              message: 'src/platform/ is shared by both actions: it imports only its own modules.'
            }
          ]
        }
      ]
    }
  },
  {
    // Plain ESM scripts (simulator, bench, configs) run on Node directly.
    files: ['**/*.js'],
    languageOptions: { globals: globals.node }
  }
)
