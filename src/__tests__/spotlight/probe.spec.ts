import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

describe('probe', () => {
  it('wasm', async () => {
    let ok: any;
    try { ok = await tf.setBackend('wasm'); } catch (e) { ok = String(e); }
    console.log('wasm', ok, tf.getBackend(), typeof document, typeof fetch, typeof WebAssembly);
    const t = tf.matMul(tf.ones([2, 3]), tf.ones([3, 1]));
    console.log(Array.from(t.dataSync()));
    const ok2 = await tf.setBackend('webgl').catch(e => String(e));
    console.log('webgl', ok2, tf.getBackend());
  }, 60000);
});
