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
const fs = require('fs');
const path = require('path');

// A .npy file (v1-v3, little-endian f4, C order) as {shape, data}.
function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(`${file}: not a .npy file`);
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + headerLen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  if (descr !== '<f4') throw new Error(`${file}: dtype ${descr} is not f4`);
  if (/'fortran_order':\s*True/.test(header)) throw new Error(`${file}: Fortran order`);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').map((s) => s.trim())
      .filter((s) => s.length).map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(count);
  for (let i = 0; i < count; ++i) data[i] = buf.readFloatLE(start + headerLen + 4 * i);
  return {shape, data};
}

// A version 1 .npy file of float32 values.
function writeNpy(file, dims, data) {
  const shape = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`;
  // magic (6) + version (2) + length (2) + header + '\n', padded to 64 bytes
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const body = Buffer.alloc(4 * data.length);
  for (let i = 0; i < data.length; ++i) body.writeFloatLE(data[i], 4 * i);
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(header, 'latin1'), body]));
}

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
      feeds[name] = new ort.Tensor('float32', t.data, t.shape);
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
