"""Export a CLIP ViT-B/32-sized model (random weights) as optimum's ONE model.onnx, for measuring
how the engine runs one tower of it (tools/bench/clip_single_file.mjs).

  bench/models/clip-single/model.onnx   input_ids, pixel_values, attention_mask ->
                                        logits_per_image, logits_per_text, text_embeds, image_embeds
                                        (embeddings L2-normalised, as CLIPModel returns them)

The towers are bench_models.py's (the same seeds as the split benchmark models).
Usage: /usr/bin/python3 tools/bench/make_clip_single.py [--out bench/models/clip-single] [--force]
"""
import argparse
import math
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_models import build  # noqa: E402

OPSET = 17


class ClipModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.text, self.vision = build("text"), build("vision")
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def forward(self, input_ids, pixel_values, attention_mask):
        norm = lambda t: t / torch.pow(torch.sum(torch.pow(t, 2), dim=-1, keepdim=True), 0.5)  # noqa: E731
        image_embeds = norm(self.vision(pixel_values))
        text_embeds = norm(self.text(input_ids, attention_mask))
        logits_per_text = text_embeds @ image_embeds.t() * self.logit_scale.exp()
        return logits_per_text.t(), logits_per_text, text_embeds, image_embeds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="bench/models/clip-single")
    ap.add_argument("--force", action="store_true")
    a = ap.parse_args()
    path = os.path.join(a.out, "model.onnx")
    if os.path.exists(path) and not a.force:
        print(f"kept {path}")
        return
    os.makedirs(a.out, exist_ok=True)
    torch.set_num_threads(os.cpu_count() or 1)
    text_axes = {0: "text_batch_size", 1: "sequence_length"}
    with torch.no_grad():
        torch.onnx.export(
            ClipModel().eval(),
            (torch.randint(0, 49406, (2, 7)), torch.randn(2, 3, 224, 224), torch.ones(2, 7, dtype=torch.int64)),
            path + ".tmp",
            input_names=["input_ids", "pixel_values", "attention_mask"],
            output_names=["logits_per_image", "logits_per_text", "text_embeds", "image_embeds"],
            dynamic_axes={"input_ids": text_axes, "attention_mask": text_axes,
                          "pixel_values": {0: "image_batch_size"},
                          "logits_per_image": {0: "image_batch_size", 1: "text_batch_size"},
                          "logits_per_text": {0: "text_batch_size", 1: "image_batch_size"},
                          "text_embeds": {0: "text_batch_size"}, "image_embeds": {0: "image_batch_size"}},
            opset_version=OPSET, do_constant_folding=True)
    os.replace(path + ".tmp", path)
    print(f"wrote {path} ({os.path.getsize(path) / 2**20:.0f} MiB)")


if __name__ == "__main__":
    main()
