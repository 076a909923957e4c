#!/usr/bin/env node
// Checks the exported demo models from node, the way the engine loads them: the tokenizer with
// @huggingface/tokenizers, the ONNX files with onnxruntime-node. Compares with the torch
// reference that train_demo_models.py wrote; prints a JSON summary, exits 1 on a mismatch.
// usage: node tools/demo/check_onnx.js <model dir> <ref.json>
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const ort = require('onnxruntime-node');
const { Tokenizer } = require('@huggingface/tokenizers');

async function main() {
  const [dir, refPath] = process.argv.slice(2);
  const ref = JSON.parse(fs.readFileSync(refPath, 'utf8'));
  const tokJson = JSON.parse(fs.readFileSync(path.join(dir, 'clip', 'tokenizer.json'), 'utf8'));
  const tokenizer = new Tokenizer(tokJson, JSON.parse(fs.readFileSync(path.join(dir, 'clip', 'tokenizer_config.json'), 'utf8')));
  const problems = [];
  const encoded = ref.texts.map((t) => tokenizer.encode(t).ids);
  encoded.forEach((ids, i) => {
    if (!ids.every((id) => Number.isInteger(id))) problems.push(`non-integer id in "${ref.texts[i]}": ${ids}`);
    else if (ids.join() !== ref.ids[i].join()) problems.push(`ids differ for "${ref.texts[i]}": js ${ids} py ${ref.ids[i]}`);
  });
  const oov = tokenizer.encode('a photo of a flamingo.').ids;
  if (!oov.every((id) => Number.isInteger(id))) problems.push(`unknown word gives ${oov}`);

  const maxDiff = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
  const flat = (rows) => rows.flat();

  // text model, padded to two different lengths: the embedding must not depend on padding
  const text = await ort.InferenceSession.create(path.join(dir, 'clip', 'onnx', 'text_model.onnx'));
  const runText = async (extraPad) => {
    const L = Math.max(...encoded.map((e) => e.length)) + extraPad;
    const ids = new BigInt64Array(encoded.length * L);
    const mask = new BigInt64Array(encoded.length * L);
    encoded.forEach((e, r) => e.forEach((id, j) => ((ids[r * L + j] = BigInt(id)), (mask[r * L + j] = 1n))));
    const out = await text.run({
      input_ids: new ort.Tensor('int64', ids, [encoded.length, L]),
      attention_mask: new ort.Tensor('int64', mask, [encoded.length, L]),
    });
    return Array.from(out.text_embeds.data);
  };
  const t0 = await runText(0);
  const t7 = await runText(77 - Math.max(...encoded.map((e) => e.length))); // padded to CLIP's 77
  const textDiff = maxDiff(t0, flat(ref.text_embeds));
  const padDiff = maxDiff(t0, t7);

  const vision = await ort.InferenceSession.create(path.join(dir, 'clip', 'onnx', 'vision_model.onnx'));
  const n = ref.image_embeds.length;
  const img = await vision.run({ pixel_values: new ort.Tensor('float32', Float32Array.from(ref.pixel_values), [n, 3, 64, 64]) });
  const visionDiff = maxDiff(Array.from(img.image_embeds.data), flat(ref.image_embeds));

  const clf = await ort.InferenceSession.create(path.join(dir, 'classifier.onnx'));
  const logits = await clf.run({ input: new ort.Tensor('float32', Float32Array.from(ref.classifier_input), [n, 3, 64, 64]) });
  const clfDiff = maxDiff(Array.from(logits.logits.data), flat(ref.logits));

  const tol = 1e-3;
  if (textDiff > tol) problems.push(`text_embeds differ by ${textDiff}`);
  if (padDiff > tol) problems.push(`padding changes text_embeds by ${padDiff}`);
  if (visionDiff > tol) problems.push(`image_embeds differ by ${visionDiff}`);
  if (clfDiff > tol) problems.push(`logits differ by ${clfDiff}`);
  console.log(JSON.stringify({ texts: ref.texts.length, textDiff, padDiff, visionDiff, clfDiff, oovIds: oov, problems }));
  process.exit(problems.length ? 1 : 0);
}
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
