/**
 * A .wasm file imported through the labextension's `asset/resource` rule
 * (webpack.config.js): the import is the file's URL.
 */
declare module '*.wasm' {
  const url: string;
  export default url;
}
