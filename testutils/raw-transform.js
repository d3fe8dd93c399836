// Jest transform that exposes a file's text as its default export, mirroring
// the `asset/source` rule the labextension build uses for the kernel helper.
module.exports = {
  process(sourceText) {
    return { code: `module.exports = ${JSON.stringify(sourceText)};` };
  }
};
