const jestJupyterLab = require('@jupyterlab/testutils/lib/jest-config');

// ESM-only packages that babel must transform for jest.
const esModules = [
  '@codemirror',
  '@jupyter/',
  '@fluentui',
  '@jupyterlab/',
  '@microsoft',
  '@tensorflow',
  'd3-.*',
  'delaunator',
  'exenv-es6',
  'internmap',
  'lib0',
  'nanoid',
  'robust-predicates',
  'vscode-ws-jsonrpc',
  'vega.*',
  'ts-json-schema-generator',
  'y-protocols',
  'y-websocket',
  'yjs'
].join('|');

const baseConfig = jestJupyterLab(__dirname);

module.exports = {
  ...baseConfig,
  automock: false,
  collectCoverageFrom: [
    'src/**/*.{ts,tsx}',
    '!src/**/*.d.ts',
    '!src/**/.ipynb_checkpoints/*'
  ],
  coverageReporters: ['lcov', 'text-summary'],
  testRegex: 'src/.*/.*.spec.ts[x]?$',
  transform: {
    ...baseConfig.transform,
    '^.+\\.mjs$': 'babel-jest',
    '\\.py$': '<rootDir>/testutils/raw-transform.js'
  },
  moduleFileExtensions: [
    ...(baseConfig.moduleFileExtensions || ['ts', 'tsx', 'js', 'jsx', 'json']),
    'py'
  ],
  transformIgnorePatterns: [`/node_modules/(?!${esModules}).+`]
};
