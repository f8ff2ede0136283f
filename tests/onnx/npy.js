// .npy files for the ONNX Runtime scripts (ort_check.js, ort_run.js).
'use strict';
const fs = require('fs');

// A .npy file (v1-v3, little-endian f4 or f8, C order) as {shape, data}.
function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(`${file}: not a .npy file`);
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + headerLen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  if (/'fortran_order':\s*True/.test(header)) throw new Error(`${file}: Fortran order`);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').map((s) => s.trim())
      .filter((s) => s.length).map(Number);
  const body = buf.subarray(start + headerLen);
  const count = shape.reduce((a, b) => a * b, 1);
  const data = new Float64Array(count);
  if (descr === '<f4') for (let i = 0; i < count; ++i) data[i] = body.readFloatLE(4 * i);
  else if (descr === '<f8') for (let i = 0; i < count; ++i) data[i] = body.readDoubleLE(8 * i);
  else throw new Error(`${file}: dtype ${descr} is not f4 or f8`);
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

module.exports = {readNpy, writeNpy};
