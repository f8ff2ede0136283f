// Runs a model with ONNX Runtime (onnxruntime-node) on test data sets and
// writes ONNX Runtime's outputs next to the inputs, so that another runtime
// (netc onnx-test) can be compared with ONNX Runtime itself rather than with
// the framework that exported the model.
//
//   node ort_run.js ORT_MODULE_DIR MODEL.onnx DATA_SET_DIR...
//
// Each DATA_SET_DIR holds input_K.npy (little-endian f4, C order), fed to the
// session's inputs in order; ONNX Runtime's outputs are written there as
// ort_output_K.npy (f4). Exit 2 on a usage, load or run error.
'use strict';
const path = require('path');
const {readNpy, writeNpy} = require('./npy.js');

async function main() {
  const [ortDir, modelPath, ...sets] = process.argv.slice(2);
  if (!sets.length) {
    console.error('usage: node ort_run.js ORT_MODULE_DIR MODEL.onnx DATA_SET_DIR...');
    process.exit(2);
  }
  const ort = require(path.resolve(ortDir, 'node_modules', 'onnxruntime-node'));
  const session = await ort.InferenceSession.create(modelPath);
  for (const dir of sets) {
    const feeds = {};
    session.inputNames.forEach((name, k) => {
      const t = readNpy(path.join(dir, `input_${k}.npy`));
      feeds[name] = new ort.Tensor('float32', Float32Array.from(t.data), t.shape);
    });
    const results = await session.run(feeds);
    session.outputNames.forEach((name, k) => {
      const t = results[name];
      if (t.type !== 'float32') throw new Error(`output ${name} is ${t.type}, not float32`);
      writeNpy(path.join(dir, `ort_output_${k}.npy`), t.dims.map(Number), t.data);
    });
  }
}

main().catch((e) => {
  console.error(`ort_run: ${e.message}`);
  process.exit(2);
});
