// ONNX Runtime (CPU) inference timing of one model zoo twin, as ../shared/bench/ort_bench.js
// times the mlp and cnn: same session options, 10 warm-up runs, median of REPS runs.
// Run: NODE_PATH=/tmp/ortb/node_modules node ort_zoo.js MODEL.onnx BATCH REPS DIMS [THREADS]
//   DIMS: the input's shape without the batch, e.g. 1x28x28 (lstm: 28x28).
// Prints one JSON line: model, batch, median_ms, images_per_s.
const ort = require('onnxruntime-node');
const [path, batchArg, repsArg, dimsArg, threadsArg] = process.argv.slice(2);
const batch = Number(batchArg), reps = Number(repsArg), threads = Number(threadsArg || 2);
const dims = dimsArg.split('x').map(Number);
(async () => {
  const s = await ort.InferenceSession.create(path, {intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all'});
  const n = batch * dims.reduce((a, b) => a * b, 1);
  const x = new ort.Tensor('float32', new Float32Array(n).map(() => Math.random()), [batch, ...dims]);
  for (let i = 0; i < 10; i++) await s.run({x});
  const lat = [];
  for (let i = 0; i < reps; i++) {
    const t = process.hrtime.bigint();
    await s.run({x});
    lat.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  lat.sort((a, b) => a - b);
  const med = lat[lat.length >> 1];
  console.log(JSON.stringify({model: path, batch, median_ms: med, images_per_s: batch / med * 1000}));
})();
