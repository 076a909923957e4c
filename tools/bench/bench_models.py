"""Architecture-faithful benchmark models with random weights (timing does not depend on them).

Shared by make_models.py (ONNX export for the engine) and peers.py (PyTorch eager peer), which
rebuild the same modules from the same seeds, so both sides run identical architectures.

- CLIP ViT-B/32 text tower as the Hugging Face export: token + position embeddings, 12 pre-LN
  blocks (width 512, 8 heads, MLP 2048, quick_gelu) under a causal mask plus the padding mask,
  final LN, pooling at the end token (argmax of input_ids, as HF), text_projection -> [B, 512].
- CLIP ViT-B/32 vision tower: 32x32 patches, class token, 50 positions, ln_pre, 12 blocks
  (width 768, 12 heads, MLP 3072), post LN on the class token, visual_projection -> [B, 512].
- ResNet-50 (torchvision's layout: bottlenecks [3, 4, 6, 3], stride on the 3x3 conv) ending in
  an nn.Linear(2048, classes), i.e. one Gemm.
"""
import torch
from torch import nn
import torch.nn.functional as F

SEEDS = {"text": 1, "vision": 2, "resnet50": 3}


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class Attention(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.q_proj = nn.Linear(width, width)
        self.k_proj = nn.Linear(width, width)
        self.v_proj = nn.Linear(width, width)
        self.out_proj = nn.Linear(width, width)

    def forward(self, x, mask=None):
        b, l, w = x.shape
        h = self.heads
        hd = w // h
        q = self.q_proj(x).view(b, l, h, hd).transpose(1, 2) * (hd ** -0.5)
        k = self.k_proj(x).view(b, l, h, hd).transpose(1, 2)
        v = self.v_proj(x).view(b, l, h, hd).transpose(1, 2)
        att = q @ k.transpose(-1, -2)
        if mask is not None:
            att = att + mask
        att = att.softmax(dim=-1)
        out = (att @ v).transpose(1, 2).reshape(b, l, w)
        return self.out_proj(out)


class Block(nn.Module):
    def __init__(self, width, heads, mlp):
        super().__init__()
        self.layer_norm1 = nn.LayerNorm(width, eps=1e-5)
        self.self_attn = Attention(width, heads)
        self.layer_norm2 = nn.LayerNorm(width, eps=1e-5)
        self.fc1 = nn.Linear(width, mlp)
        self.act = QuickGELU()
        self.fc2 = nn.Linear(mlp, width)

    def forward(self, x, mask=None):
        x = x + self.self_attn(self.layer_norm1(x), mask)
        return x + self.fc2(self.act(self.fc1(self.layer_norm2(x))))


class ClipText(nn.Module):
    def __init__(self, vocab=49408, ctx=77, width=512, heads=8, layers=12, mlp=2048, proj=512):
        super().__init__()
        self.token_embedding = nn.Embedding(vocab, width)
        self.position_embedding = nn.Parameter(torch.randn(ctx, width) * 0.01)
        self.layers = nn.ModuleList([Block(width, heads, mlp) for _ in range(layers)])
        self.final_layer_norm = nn.LayerNorm(width, eps=1e-5)
        self.text_projection = nn.Linear(width, proj, bias=False)

    def forward(self, input_ids, attention_mask):
        b, l = input_ids.shape
        x = self.token_embedding(input_ids) + self.position_embedding[:l]
        # causal mask plus the padding mask, as HF's CLIPTextTransformer (finite, so no NaN rows)
        causal = torch.triu(torch.full((l, l), -1e9, dtype=x.dtype), diagonal=1)
        pad = (1.0 - attention_mask.to(x.dtype))[:, None, None, :] * -1e9
        mask = causal[None, None] + pad
        for blk in self.layers:
            x = blk(x, mask)
        x = self.final_layer_norm(x)
        pooled = x[torch.arange(b), input_ids.to(torch.int32).argmax(dim=-1)]
        return self.text_projection(pooled)


class ClipVision(nn.Module):
    def __init__(self, image=224, patch=32, width=768, heads=12, layers=12, mlp=3072, proj=512):
        super().__init__()
        self.patch_embedding = nn.Conv2d(3, width, patch, stride=patch, bias=False)
        self.class_embedding = nn.Parameter(torch.randn(width) * 0.02)
        self.position_embedding = nn.Parameter(torch.randn((image // patch) ** 2 + 1, width) * 0.01)
        self.pre_layrnorm = nn.LayerNorm(width, eps=1e-5)
        self.layers = nn.ModuleList([Block(width, heads, mlp) for _ in range(layers)])
        self.post_layernorm = nn.LayerNorm(width, eps=1e-5)
        self.visual_projection = nn.Linear(width, proj, bias=False)

    def forward(self, pixel_values):
        x = self.patch_embedding(pixel_values).flatten(2).transpose(1, 2)
        cls = self.class_embedding.expand(x.shape[0], 1, -1)
        x = torch.cat([cls, x], dim=1) + self.position_embedding
        x = self.pre_layrnorm(x)
        for blk in self.layers:
            x = blk(x)
        return self.visual_projection(self.post_layernorm(x[:, 0]))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inp, planes, stride=1):
        super().__init__()
        out = planes * 4
        self.conv1 = nn.Conv2d(inp, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.downsample = None
        if stride != 1 or inp != out:
            self.downsample = nn.Sequential(nn.Conv2d(inp, out, 1, stride=stride, bias=False), nn.BatchNorm2d(out))

    def forward(self, x):
        idt = x if self.downsample is None else self.downsample(x)
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        return F.relu(self.bn3(self.conv3(y)) + idt)


class ResNet50(nn.Module):
    def __init__(self, classes=2):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        layers, inp = [], 64
        for planes, blocks, stride in [(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)]:
            seq = []
            for i in range(blocks):
                seq.append(Bottleneck(inp, planes, stride if i == 0 else 1))
                inp = planes * 4
            layers.append(nn.Sequential(*seq))
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.fc = nn.Linear(2048, classes)

    def forward(self, x):
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.fc(x)


def build(name):
    """The module `name` with its seeded random weights, in eval mode."""
    torch.manual_seed(SEEDS[name])
    m = {"text": ClipText, "vision": ClipVision, "resnet50": ResNet50}[name]()
    if name == "resnet50":
        # non-trivial BatchNorm statistics, so the folded convolutions are not identities
        for mod in m.modules():
            if isinstance(mod, nn.BatchNorm2d):
                mod.running_mean.uniform_(-0.1, 0.1)
                mod.running_var.uniform_(0.5, 1.5)
    return m.eval()
