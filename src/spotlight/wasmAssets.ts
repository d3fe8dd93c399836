/**
 * URLs of tfjs-backend-wasm's binaries in the labextension bundle: the build's
 * `asset/resource` rule for .wasm (webpack.config.js) copies each file next to
 * the extension's JavaScript and turns the import into its URL, which
 * JupyterLab serves. Loaded only in the browser, by `configureWasmPaths`.
 */
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm';
import wasmThreadedSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm';

/** The file map `setWasmPaths` expects. */
export const WASM_FILES: Readonly<Record<string, string>> = Object.freeze({
  'tfjs-backend-wasm.wasm': wasmPlain,
  'tfjs-backend-wasm-simd.wasm': wasmSimd,
  'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedSimd
});
