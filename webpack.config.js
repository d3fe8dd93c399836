// Merged by @jupyter/builder into the labextension's rspack configuration.
module.exports = {
  module: {
    rules: [
      // tfjs-backend-wasm's binaries ship inside the labextension and are
      // served by JupyterLab; src/spotlight/backend.ts registers their URLs.
      { test: /\.wasm$/, type: 'asset/resource' },
      // The kernel-side helper is injected into the kernel as source text.
      { test: /\.py$/, type: 'asset/source' }
    ]
  },
  node: { __dirname: 'mock', __filename: 'mock' }
};
