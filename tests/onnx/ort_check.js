// Runs an exported model with ONNX Runtime (onnxruntime-node) on a test case
// written by `netc export --test-data` and compares every output with the
// reference interpreter's, elementwise: |ort - ref| <= rtol |ref| + atol.
//
//   node ort_check.js ORT_MODULE_DIR MODEL.onnx CASE_DIR [rtol] [atol]
//
// Prints one line per output with the largest relative error; exit 1 when
// any element is out of tolerance, 2 on a usage or load error.
'use strict';
const path = require('path');
const {readNpy} = require('./npy.js');

async function main() {
  const [ortDir, modelPath, caseDir, rtolArg, atolArg] = process.argv.slice(2);
  if (!caseDir) {
    console.error('usage: node ort_check.js ORT_MODULE_DIR MODEL.onnx CASE_DIR [rtol] [atol]');
    process.exit(2);
  }
  const rtol = Number(rtolArg ?? 1e-5), atol = Number(atolArg ?? 1e-7);
  const ort = require(path.resolve(ortDir, 'node_modules', 'onnxruntime-node'));
  const session = await ort.InferenceSession.create(modelPath);
  const feeds = {};
  session.inputNames.forEach((name, k) => {
    const t = readNpy(path.join(caseDir, `input_${k}.npy`));
    feeds[name] = new ort.Tensor('float32', Float32Array.from(t.data), t.shape);
  });
  const results = await session.run(feeds);
  let failed = false;
  session.outputNames.forEach((name, k) => {
    const want = readNpy(path.join(caseDir, `output_${k}.npy`));
    const got = results[name];
    if (JSON.stringify(got.dims.map(Number)) !== JSON.stringify(want.shape)) {
      console.log(`${name}: ORT shape [${got.dims}] != reference [${want.shape}]`);
      failed = true;
      return;
    }
    let worst = 0, worstAbs = 0, bad = 0, at = 0;
    for (let i = 0; i < want.data.length; ++i) {
      const diff = Math.abs(got.data[i] - want.data[i]);
      const rel = diff / Math.max(Math.abs(want.data[i]), 1e-30);
      if (!(diff <= rtol * Math.abs(want.data[i]) + atol)) ++bad; // NaN counts as bad
      if (rel > worst) { worst = rel; at = i; }
      worstAbs = Math.max(worstAbs, diff);
    }
    console.log(`${name} [${want.shape}]: max relative error ${worst.toExponential(2)} ` +
                `(at ${at}: ort ${got.data[at]}, reference ${want.data[at]}), ` +
                `max absolute error ${worstAbs.toExponential(2)}, ` +
                `${bad} of ${want.data.length} beyond rtol ${rtol} + atol ${atol}`);
    if (bad) failed = true;
  });
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  console.error(`ort_check: ${e.message}`);
  process.exit(2);
});
