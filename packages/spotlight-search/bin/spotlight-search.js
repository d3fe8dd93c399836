#!/usr/bin/env node
/**
 * spotlight-search: find high-loss regions of a model's embedding space with
 * the Spotlight method (d'Eon et al. 2021). A shim over lib/cli/main.js, which
 * `npm pack` builds (prepack: build.mjs) from the repository's src/cli and
 * src/spotlight.
 */
'use strict';
const fs = require('fs');
const path = require('path');

const main = path.join(__dirname, '..', 'lib', 'cli', 'main.js');
if (!fs.existsSync(main)) {
  process.stderr.write(
    `spotlight-search: not built (${main} is missing): run \`npm run build\` in packages/spotlight-search first.\n`
  );
  process.exit(2);
}
require(main)
  .run(process.argv.slice(2))
  .then(
    code => {
      process.exitCode = code;
    },
    error => {
      process.stderr.write(
        `spotlight-search: internal error: ${error && error.stack ? error.stack : error}\n`
      );
      process.exitCode = 1;
    }
  );
