// A tiny fully convolutional feature extractor, built and saved (model.json + weights.bin) the way a user would hand
// one to patchwork, for tests that need embeddings without a pretraining run.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { activeTf, initBackend } from '../../ml/backend.ts';

export async function saveTinyFeatureModel(dir: string, seed = 7): Promise<string> {
  await initBackend({ purpose: 'infer' });
  const tf = activeTf();
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [null, null, 3],
        filters: 8,
        kernelSize: 3,
        strides: 2,
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed }),
      }),
      tf.layers.conv2d({
        filters: 12,
        kernelSize: 3,
        strides: 2,
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }),
      }),
    ],
  });
  await mkdir(dir, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const data = artifacts.weightData!;
      const bytes = Buffer.concat((Array.isArray(data) ? data : [data]).map((b) => Buffer.from(b)));
      await writeFile(join(dir, 'weights.bin'), bytes);
      await writeFile(
        join(dir, 'model.json'),
        JSON.stringify({
          modelTopology: artifacts.modelTopology,
          format: 'layers-model',
          weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
        }),
      );
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  model.dispose();
  return join(dir, 'model.json');
}
