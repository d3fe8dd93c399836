// Merged by @jupyter/builder into the labextension's rspack configuration.
module.exports = {
  module: {
    rules: [
      // The kernel-side helper is injected into the kernel as source text.
      { test: /\.py$/, type: 'asset/source' }
    ]
  },
  node: { __dirname: 'mock', __filename: 'mock' }
};
