import { defineConfig, globalIgnores } from 'eslint/config'
import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import globals from 'globals'

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
  {
    // Plain ESM scripts (simulator, bench, configs) run on Node directly.
    files: ['**/*.js'],
    languageOptions: { globals: globals.node }
  }
)
