// R17: the browser code (the console, the HQ dashboard, the citizen page and the shared kit) runs
// as native ES modules, with no build step, in Chrome >= 86 and Firefox >= 82. Syntax and built-ins
// newer than ES2021 (what both browsers have) are refused by eslint-plugin-es-x; Web APIs those
// browsers lack by eslint-plugin-compat with the browserslist targets below.
//
// Run from the repository root: e2e/node_modules/.bin/eslint --config e2e/eslint.config.mjs node/assets central/assets node/kit/assets
import compat from 'eslint-plugin-compat';
import esx from 'eslint-plugin-es-x';
import globals from 'globals';

const TARGETS = ['chrome >= 86', 'firefox >= 82'];

export default [
  // Leaflet 1.9.4, copied unchanged from its npm tarball (third-party code, see its LICENSE).
  { ignores: ['node/kit/assets/kit/leaflet/**'] },
  {
    files: ['node/assets/**/*.js', 'central/assets/**/*.js', 'node/kit/assets/**/*.js', 'node/field/assets/**/*.js'],
    languageOptions: {
      ecmaVersion: 2021,
      sourceType: 'module',
      globals: { ...globals.browser },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    plugins: { compat, 'es-x': esx },
    settings: { browsers: TARGETS, polyfills: [] },
    rules: {
      ...esx.configs['flat/restrict-to-es2021'].rules,
      'compat/compat': 'error',
      'no-undef': 'error',
      'no-unused-vars': ['error', { args: 'none', caughtErrors: 'none' }],
    },
  },
];
