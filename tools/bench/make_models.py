"""Export the benchmark models (random weights) to ONNX in the layouts the engine takes.

  bench/models/clip/onnx/text_model.onnx    input_ids, attention_mask [B, L] int64 -> text_embeds [B, 512]
                                            (dynamic batch and sequence axes)
  bench/models/clip/onnx/vision_model.onnx  pixel_values [B, 3, 224, 224] -> image_embeds [B, 512]
  bench/models/resnet50.onnx                input [B, 3, 224, 224] -> logits [B, 2], last node Gemm

The tokenizer.json and preprocessor_config.json are not copied: the runner points the engine at
../shared/data/clip-vit-b32 (the real CLIP files) at run time.

Usage: /usr/bin/python3 tools/bench/make_models.py [--out bench/models] [--force]
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_models import build  # noqa: E402

OPSET = 17


def export(name, path, args, inputs, outputs, axes):
    model = build(name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with torch.no_grad():
        torch.onnx.export(model, args, tmp, input_names=inputs, output_names=outputs,
                          dynamic_axes=axes, opset_version=OPSET, do_constant_folding=True)
    os.replace(tmp, path)
    print(f"wrote {path} ({os.path.getsize(path) / 2**20:.0f} MiB)", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="bench/models")
    ap.add_argument("--force", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    jobs = [
        ("text", os.path.join(a.out, "clip", "onnx", "text_model.onnx"),
         (torch.randint(0, 49406, (2, 7)), torch.ones(2, 7, dtype=torch.int64)),
         ["input_ids", "attention_mask"], ["text_embeds"],
         {"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"}, "text_embeds": {0: "batch"}}),
        ("vision", os.path.join(a.out, "clip", "onnx", "vision_model.onnx"),
         (torch.randn(2, 3, 224, 224),), ["pixel_values"], ["image_embeds"],
         {"pixel_values": {0: "batch"}, "image_embeds": {0: "batch"}}),
        ("resnet50", os.path.join(a.out, "resnet50.onnx"),
         (torch.randn(2, 3, 224, 224),), ["input"], ["logits"],
         {"input": {0: "batch"}, "logits": {0: "batch"}}),
    ]
    for name, path, args, inputs, outputs, axes in jobs:
        if os.path.exists(path) and not a.force:
            print(f"kept {path}")
            continue
        export(name, path, args, inputs, outputs, axes)
    with open(os.path.join(a.out, "models.json"), "w") as f:
        json.dump({"torch": torch.__version__, "opset": OPSET}, f)


if __name__ == "__main__":
    main()
