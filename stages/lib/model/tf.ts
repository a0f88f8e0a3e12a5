// The one way stages get TensorFlow.js. tfjs-node (native TensorFlow) is an optional dependency that
// often cannot be installed; without it we use the pure-JS CPU backend of @tensorflow/tfjs.
import * as tf from '@tensorflow/tfjs';

export { tf };

export interface TfRuntime {
  readonly tf: typeof tf;
  /** The backend in use: "tensorflow" (tfjs-node) or "cpu". */
  readonly backend: string;
  readonly version: string;
}

let ready: Promise<TfRuntime> | undefined;

/** Selects the backend once per process. */
export function loadTf(): Promise<TfRuntime> {
  ready ??= selectBackend();
  return ready;
}

async function selectBackend(): Promise<TfRuntime> {
  // A variable specifier: the package is optional, so TypeScript must not require its types.
  const nodeBackend = '@tensorflow/tfjs-node';
  try {
    await import(nodeBackend);
    if (await tf.setBackend('tensorflow')) return { tf, backend: tf.getBackend(), version: tf.version.tfjs };
  } catch {
    // Not installed (or its native binary is missing): the CPU backend below is the documented fallback.
  }
  await tf.setBackend('cpu');
  silenceCpuBanner();
  return { tf, backend: tf.getBackend(), version: tf.version.tfjs };
}

// The CPU backend warns "looks like you are running TensorFlow.js in Node.js ... install tfjs-node" on
// its first tensor write, through backend_util.warn, which stays quiet while the PROD flag is set.
// Writing that first tensor with PROD set spends the one-time warning without leaving prod mode on
// (prod mode would also hide every later, useful tfjs warning).
function silenceCpuBanner(): void {
  const env = tf.env();
  const prod = env.getBool('PROD');
  env.set('PROD', true);
  try {
    tf.tidy(() => {
      tf.scalar(0);
    });
  } finally {
    env.set('PROD', prod);
  }
}
