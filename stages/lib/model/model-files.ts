// Save and load a LayersModel as model.json + weights.bin (the TF.js layers format that tfjs-node's
// file:// handler and tfjs-converter write). Plain @tensorflow/tfjs has no file system handler in Node,
// so this is a small IOHandler over node:fs.
import { readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type * as tfTypes from '@tensorflow/tfjs';
import { tf } from './tf.ts';

export const WEIGHTS_FILE = 'weights.bin';

/** An IOHandler for model.save(): writes `modelJsonPath` and weights.bin beside it. */
export function fileSaveHandler(modelJsonPath: string, weightsPath = join(dirname(modelJsonPath), WEIGHTS_FILE)): tfTypes.io.IOHandler {
  return tf.io.withSaveHandler(async (artifacts) => {
    if (artifacts.weightSpecs === undefined || artifacts.weightData === undefined) {
      throw new Error('model.save() gave no weights to write');
    }
    const weights = tf.io.CompositeArrayBuffer.join(artifacts.weightData);
    const modelJson: tfTypes.io.ModelJSON = {
      modelTopology: artifacts.modelTopology as object,
      format: artifacts.format ?? 'layers-model',
      generatedBy: artifacts.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
      convertedBy: artifacts.convertedBy ?? null,
      weightsManifest: [{ paths: [basename(weightsPath)], weights: artifacts.weightSpecs }],
      ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
    };
    await writeFile(modelJsonPath, JSON.stringify(modelJson));
    await writeFile(weightsPath, new Uint8Array(weights));
    return {
      modelArtifactsInfo: {
        dateSaved: new Date(),
        modelTopologyType: 'JSON',
        modelTopologyBytes: JSON.stringify(artifacts.modelTopology).length,
        weightSpecsBytes: JSON.stringify(artifacts.weightSpecs).length,
        weightDataBytes: weights.byteLength,
      },
    };
  });
}

/** An IOHandler for tf.loadLayersModel(): reads model.json and the weight files its manifest names. */
export function fileLoadHandler(modelJsonPath: string): tfTypes.io.IOHandler {
  return {
    load: async () => {
      let modelJson: tfTypes.io.ModelJSON;
      try {
        modelJson = JSON.parse(await readFile(modelJsonPath, 'utf8')) as tfTypes.io.ModelJSON;
      } catch (error) {
        throw new Error(`${modelJsonPath}: not a readable model.json (${(error as Error).message})`);
      }
      if (modelJson.modelTopology === undefined) throw new Error(`${modelJsonPath}: no "modelTopology" key`);
      return tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => {
        const specs: tfTypes.io.WeightsManifestEntry[] = [];
        const buffers: ArrayBuffer[] = [];
        for (const group of manifest) {
          specs.push(...group.weights);
          for (const path of group.paths) {
            const bytes = await readFile(join(dirname(modelJsonPath), path));
            buffers.push(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
          }
        }
        return [specs, tf.io.concatenateArrayBuffers(buffers)];
      });
    },
  };
}

export async function saveModel(model: tfTypes.LayersModel, modelJsonPath: string, weightsPath?: string): Promise<void> {
  await model.save(fileSaveHandler(modelJsonPath, weightsPath));
}

export async function loadModel(modelJsonPath: string): Promise<tfTypes.LayersModel> {
  return tf.loadLayersModel(fileLoadHandler(modelJsonPath));
}
