#!/usr/bin/python3
"""Train the demo world's tiny CLIP and ERM classifier, export them to ONNX, measure them.

Build-time only (never needed at run time or in CI). Run from the repository root after
`npx tsc -p .` (the images come from the TypeScript generator through node):

    /usr/bin/python3 tools/demo/train_demo_models.py                # birds -> media/demo/birds
    /usr/bin/python3 tools/demo/train_demo_models.py --world W.json --words W.words.json --out DIR

Writes <out>/clip/{onnx/text_model.onnx, onnx/vision_model.onnx, tokenizer.json,
preprocessor_config.json, config.json}, <out>/classifier.onnx and <out>/provenance.json.
See tools/demo/README.md.
"""
import argparse
import csv
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))

# The 80 OpenAI ImageNet prompt templates (CLIP repo, notebooks/Prompt_Engineering_for_ImageNet),
# in the reference's order, from the engine's own copy; TLDR augments its text set with them,
# so the vocabulary covers them.
with open(os.path.join(ROOT, 'src', 'engine', 'text', 'openai-imagenet-templates.json')) as f:
    OPENAI_IMAGENET_TEMPLATES = json.load(f)
assert len(OPENAI_IMAGENET_TEMPLATES) == 80

PAD, UNK, SOT, EOT = '[PAD]', '[UNK]', '<|startoftext|>', '<|endoftext|>'
MAX_LEN = 32  # trained positions; prompts here are < 20 tokens
CONTEXT = 77  # exported positions: CLIP's context, so callers may pad to 77 (extra rows are zero, always masked)
WIDTHS = (24, 48, 64, 96)  # conv widths of both image networks: small enough to train on 2 shared cores


def log(*a):
    print(f'[{time.strftime("%H:%M:%S")}]', *a, flush=True)


# ---------------------------------------------------------------- tokenizer
def words_of(text):
    """Lowercase + BertPreTokenizer: split on whitespace, every punctuation char its own token."""
    return re.findall(r"[a-z0-9]+|[^a-z0-9\s]", text.lower())


class WordTokenizer:
    def __init__(self, words):
        # [PAD]=0, [UNK]=1, words..., then start/end last so the end token has the largest id
        vocab = [PAD, UNK] + sorted(set(words)) + [SOT, EOT]
        self.vocab = {w: i for i, w in enumerate(vocab)}
        self.pad, self.unk, self.sot, self.eot = 0, 1, len(vocab) - 2, len(vocab) - 1

    def encode(self, text):
        return [self.sot] + [self.vocab.get(w, self.unk) for w in words_of(text)] + [self.eot]

    def batch(self, texts):
        ids = [self.encode(t) for t in texts]
        L = max(len(i) for i in ids)
        out = np.full((len(ids), L), self.pad, dtype=np.int64)
        mask = np.zeros((len(ids), L), dtype=np.int64)
        for r, i in enumerate(ids):
            out[r, :len(i)] = i
            mask[r, :len(i)] = 1
        return torch.from_numpy(out), torch.from_numpy(mask)

    def hf_json(self):
        def added(content, i):
            return {'id': i, 'content': content, 'single_word': False, 'lstrip': False, 'rstrip': False,
                    'normalized': False, 'special': True}
        special = lambda tok, i: {'id': tok, 'ids': [i], 'tokens': [tok]}
        return {
            'version': '1.0',
            'truncation': None,
            # right padding with [PAD]=0; the text model ignores padded positions (attention_mask)
            'padding': None,
            'added_tokens': [added(PAD, self.pad), added(UNK, self.unk), added(SOT, self.sot), added(EOT, self.eot)],
            'normalizer': {'type': 'Lowercase'},
            'pre_tokenizer': {'type': 'BertPreTokenizer'},
            'post_processor': {
                'type': 'TemplateProcessing',
                'single': [{'SpecialToken': {'id': SOT, 'type_id': 0}}, {'Sequence': {'id': 'A', 'type_id': 0}},
                           {'SpecialToken': {'id': EOT, 'type_id': 0}}],
                'pair': [{'SpecialToken': {'id': SOT, 'type_id': 0}}, {'Sequence': {'id': 'A', 'type_id': 0}},
                         {'SpecialToken': {'id': EOT, 'type_id': 0}}, {'Sequence': {'id': 'B', 'type_id': 1}},
                         {'SpecialToken': {'id': EOT, 'type_id': 1}}],
                'special_tokens': {SOT: special(SOT, self.sot), EOT: special(EOT, self.eot)},
            },
            'decoder': {'type': 'WordPiece', 'prefix': '##', 'cleanup': True},
            # WordPiece over whole words: the JS tokenizer has no WordLevel model; a word that is
            # not in the vocabulary (and has no '##' pieces to fall back on) becomes [UNK]
            'model': {'type': 'WordPiece', 'unk_token': UNK, 'continuing_subword_prefix': '##',
                      'max_input_chars_per_word': 100, 'vocab': self.vocab},
        }


# ---------------------------------------------------------------- models
class Block(nn.Module):
    def __init__(self, w, heads):
        super().__init__()
        self.h, self.dh = heads, w // heads
        self.scale = 1.0 / float(np.sqrt(w // heads))
        self.ln1, self.ln2 = nn.LayerNorm(w), nn.LayerNorm(w)
        self.qkv, self.proj = nn.Linear(w, 3 * w), nn.Linear(w, w)
        self.mlp = nn.Sequential(nn.Linear(w, 2 * w), nn.GELU(), nn.Linear(2 * w, w))

    def forward(self, x, key_bias):
        B, L, W = x.shape
        q, k, v = self.qkv(self.ln1(x)).chunk(3, dim=-1)
        sh = lambda t: t.reshape(B, L, self.h, self.dh).transpose(1, 2)
        q, k, v = sh(q), sh(k), sh(v)
        att = (q @ k.transpose(-1, -2)) * self.scale + key_bias
        y = (att.softmax(-1) @ v).transpose(1, 2).reshape(B, L, W)
        x = x + self.proj(y)
        return x + self.mlp(self.ln2(x))


class TextEncoder(nn.Module):
    """Key-padding-masked transformer, mean-pooled over real tokens: padding never changes the output."""

    def __init__(self, vocab, width, dim, layers=2, heads=4):
        super().__init__()
        self.tok = nn.Embedding(vocab, width)
        self.pos = nn.Parameter(torch.randn(MAX_LEN, width) * 0.02)
        self.blocks = nn.ModuleList([Block(width, heads) for _ in range(layers)])
        self.ln = nn.LayerNorm(width)
        self.out = nn.Linear(width, dim)

    def forward(self, input_ids, attention_mask):
        L = input_ids.shape[1]
        x = self.tok(input_ids) + self.pos[:L].unsqueeze(0)
        m = attention_mask.to(x.dtype)
        key_bias = ((1.0 - m) * -1e4)[:, None, None, :]
        for b in self.blocks:
            x = b(x, key_bias)
        x = self.ln(x)
        pooled = (x * m[:, :, None]).sum(1) / m.sum(1, keepdim=True)
        return self.out(pooled)


def conv_bn(cin, cout, stride):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class ImageEncoder(nn.Module):
    def __init__(self, dim, widths=(32, 64, 96, 128)):
        super().__init__()
        a, b, c, d = widths
        self.body = nn.Sequential(conv_bn(3, a, 2), conv_bn(a, b, 2), conv_bn(b, c, 2), conv_bn(c, d, 2), conv_bn(d, d, 1))
        self.out = nn.Linear(d, dim)

    def forward(self, pixel_values):
        return self.out(self.body(pixel_values).mean((2, 3)))


class Classifier(nn.Module):
    """Conv body -> global average pool of ReLU maps (the features) -> Linear (exported as Gemm)."""

    def __init__(self, classes, widths=(32, 64, 96, 128)):
        super().__init__()
        a, b, c, d = widths
        self.body = nn.Sequential(conv_bn(3, a, 2), conv_bn(a, b, 2), conv_bn(b, c, 2), conv_bn(c, d, 1))
        self.fc = nn.Linear(d, classes)

    def features(self, x):
        return self.body(x).mean((2, 3))

    def forward(self, x):
        return self.fc(self.features(x))


# ---------------------------------------------------------------- data
def read_csv(path):
    with open(path, newline='') as f:
        return list(csv.DictReader(f))


def load_images(root, files):
    return np.stack([np.asarray(Image.open(os.path.join(root, f)).convert('RGB')) for f in files])


def to_tensor(u8, mean, std):
    x = torch.from_numpy(u8).float().div_(255.0).permute(0, 3, 1, 2)
    return (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)


@torch.no_grad()
def run_batched(fn, x, bs=256):
    return torch.cat([fn(x[i:i + bs]) for i in range(0, len(x), bs)])


def group_acc(pred, y, a, n_cls, n_sp):
    acc = {}
    for c in range(n_cls):
        for s in range(n_sp):
            m = (y == c) & (a == s)
            acc[f'{c},{s}'] = float((pred[m] == c).mean()) if m.any() else float('nan')
    return acc


def summarise(pred, y, a, n_cls, n_sp, train_weights):
    g = group_acc(pred, y, a, n_cls, n_sp)
    vals = [v for v in g.values() if v == v]
    weighted = sum(train_weights[k] * v for k, v in g.items() if v == v) / sum(train_weights[k] for k, v in g.items() if v == v)
    return {'groups': g, 'worst': min(vals), 'mean': float((pred == y).mean()), 'avg_train_weighted': weighted}


# ---------------------------------------------------------------- small numpy learners
def logreg(X, y, n_cls, l2, sample_weight=None, iters=300):
    """Multinomial logistic regression (full-batch L-BFGS in torch, float64)."""
    Xt = torch.from_numpy(X).double()
    yt = torch.from_numpy(y).long()
    w = torch.from_numpy(sample_weight if sample_weight is not None else np.ones(len(y))).double()
    w = w / w.sum()
    W = torch.zeros(X.shape[1], n_cls, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(n_cls, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([W, b], max_iter=iters, line_search_fn='strong_wolfe')

    def closure():
        opt.zero_grad()
        loss = (F.cross_entropy(Xt @ W + b, yt, reduction='none') * w).sum() + l2 * (W * W).sum()
        loss.backward()
        return loss
    opt.step(closure)
    return W.detach().numpy(), b.detach().numpy()


def balanced_weights(y, a):
    keys = y * 1000 + a
    uniq, counts = np.unique(keys, return_counts=True)
    cnt = dict(zip(uniq, counts))
    return np.array([1.0 / cnt[k] for k in keys])


# ---------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--world', default='src/engine/demo/worlds/birds.json')
    ap.add_argument('--words', default=None, help='default: <world>.words.json beside the spec')
    ap.add_argument('--out', default='media/demo/birds')
    ap.add_argument('--data', default=None, help='generated images (default: demo-out/<world name>-world)')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--dim', type=int, default=64, help='CLIP projection dim')
    ap.add_argument('--clip-epochs', type=int, default=25)
    ap.add_argument('--backbone-epochs', type=int, default=10)
    ap.add_argument('--erm-epochs', type=int, default=4)
    ap.add_argument('--erm-lr', type=float, default=1e-3)
    ap.add_argument('--reuse', action='store_true', help='reuse the CLIP and backbone trained by an earlier run (same seed/epochs), cached in the data folder')
    ap.add_argument('--tldr-lambda', type=float, default=50.0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    os.chdir(ROOT)
    t_start = time.time()

    world = json.load(open(args.world))
    words_path = args.words or re.sub(r'\.json$', '.words.json', args.world)
    demo_words = json.load(open(words_path))
    name = world['name']
    data = args.data or os.path.join('demo-out', f'{name}-world')
    task = world['task']
    classes, values = task['classes'], task['spurious']['values']
    n_cls, n_sp = len(classes), len(values)

    # 1. images, through the TypeScript generator
    t0 = time.time()
    gen = subprocess.run(['node', 'tools/demo/generate.js', args.world, data], check=True, capture_output=True, text=True)
    log('generated', gen.stdout.strip()[:300], f'{time.time() - t0:.1f}s')
    meta = read_csv(os.path.join(data, 'metadata.csv'))
    split_code = {s['name']: s['code'] for s in world['splits'] if s['role'] == 'metadata'}
    pre_split = next(s['name'] for s in world['splits'] if s['role'] == 'pretrain')
    pre_rows = read_csv(os.path.join(data, f'{pre_split}.csv'))
    cap_rows = read_csv(os.path.join(data, 'captions.csv'))

    def split_rows(name_):
        return [r for r in meta if int(r['split']) == split_code[name_]]

    sets = {}
    for sname in ('train', 'val', 'test'):
        rows = split_rows(sname)
        sets[sname] = dict(u8=load_images(data, [r['img_filename'] for r in rows]),
                           y=np.array([int(r['y']) for r in rows]), a=np.array([int(r['place']) for r in rows]))
    pre_files = sorted(set(r['image'] for r in pre_rows))
    pre_index = {f: i for i, f in enumerate(pre_files)}
    pre_u8 = load_images(data, pre_files)
    pre_info = {r['image']: (r['kind'], r['scene'], int(r['y']), int(r['place'])) for r in pre_rows}
    pre_caps = [(pre_index[r['image']], r['caption']) for r in pre_rows]
    cap_u8 = load_images(data, [r['image'] for r in cap_rows])
    log('loaded', {k: len(v['y']) for k, v in sets.items()}, 'pretrain', len(pre_files), 'captions', len(cap_rows))

    tr = sets['train']
    counts = {f'{c},{s}': int(((tr['y'] == c) & (tr['a'] == s)).sum()) for c in range(n_cls) for s in range(n_sp)}
    train_weights = {k: v / len(tr['y']) for k, v in counts.items()}

    # 2. tokenizer: the world's names, caption phrasings, the 80 templates, the anchors
    kinds = world['kinds']
    scenes = world['scenes']
    vocab_texts = list(world['captionTemplates']) + OPENAI_IMAGENET_TEMPLATES + task['targetAnchors'] + task['spuriousAnchors'] + [task.get('neutralPrompt', 'a photo of a {}.')]
    vocab_texts += [k['name'] for k in kinds] + [a for k in kinds for a in k['aliases']]
    vocab_texts += [s['name'] for s in scenes] + [a for s in scenes for a in s['aliases']] + classes + values + ['place']
    vocab_words = [w for t in vocab_texts for w in words_of(t.replace('{}', ' ').replace('{kind}', ' ').replace('{scene}', ' ').replace('{class}', ' ').replace('{value}', ' '))]
    tok = WordTokenizer(vocab_words)
    V = len(tok.vocab)
    log('vocabulary', V)

    # 3. tiny CLIP: contrastive on pretrain. Captions come from pretrain.csv and, half of the time,
    # from an ImageNet template around a short phrase so the template words carry no content.
    # Several images in a batch can match one caption ("a photo of a landbird."), so the targets
    # are every compatible pair, not just the diagonal.
    names_of = lambda item: [item['name']] + item['aliases']
    kind_by = {k['name']: k for k in kinds}
    scene_by = {s['name']: s for s in scenes}
    phrases = ['{kind}', '{scene}', '{kind} in the {scene}', '{class}', '{value} place', '{class} in a {value} place', '{kind} in a {value} place']

    def semantics(text, kind, scene):
        ws = set(words_of(text))
        k = kind if any(w in ws for n in names_of(kind_by[kind]) for w in words_of(n)) else None
        s = scene if any(w in ws for n in names_of(scene_by[scene]) for w in words_of(n)) else None
        c = kind_by[kind]['class'] if kind_by[kind]['class'] in ws else None
        v = scene_by[scene]['value'] if scene_by[scene]['value'] in ws else None
        return k, s, c, v

    rng = np.random.RandomState(args.seed)

    def sample_caption(img_i):
        kind, scene, y, a = pre_info[pre_files[img_i]]
        if rng.rand() < 0.5:
            # one of this image's pretrain.csv captions
            options = pre_by_img[img_i]
            text = options[rng.randint(len(options))]
        else:
            ph = phrases[rng.randint(len(phrases))]
            ph = ph.replace('{kind}', rng.choice(names_of(kind_by[kind]))).replace('{scene}', rng.choice(names_of(scene_by[scene])))
            ph = ph.replace('{class}', kind_by[kind]['class']).replace('{value}', scene_by[scene]['value'])
            text = OPENAI_IMAGENET_TEMPLATES[rng.randint(80)].format(ph)
        return text, semantics(text, kind, scene)

    pre_by_img = {}
    for i, c in pre_caps:
        pre_by_img.setdefault(i, []).append(c)

    clip_mean = [0.5, 0.5, 0.5]
    clip_std = [0.25, 0.25, 0.25]
    txt_enc = TextEncoder(V, 64, args.dim)
    img_enc = ImageEncoder(args.dim, widths=WIDTHS)
    logit_scale = nn.Parameter(torch.tensor(np.log(1 / 0.07), dtype=torch.float32))
    clip_cache = os.path.join(data, f'clip-cache-s{args.seed}-e{args.clip_epochs}-d{args.dim}.pt')
    cached = args.reuse and os.path.exists(clip_cache)
    if cached:
        st = torch.load(clip_cache)
        txt_enc.load_state_dict(st['text']); img_enc.load_state_dict(st['vision']); logit_scale.data.fill_(st['scale'])
        log('reusing', clip_cache)
    params = list(txt_enc.parameters()) + list(img_enc.parameters()) + [logit_scale]
    opt = torch.optim.AdamW(params, lr=2e-3, weight_decay=1e-4)
    pre_x = to_tensor(pre_u8, clip_mean, clip_std)
    pre_meta = [pre_info[f] for f in pre_files]
    bs = 128
    steps_per_epoch = len(pre_files) // bs
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=args.clip_epochs * steps_per_epoch)
    t0 = time.time()
    for ep in range(0 if cached else args.clip_epochs):
        perm = rng.permutation(len(pre_files))
        tot = 0.0
        txt_enc.train(); img_enc.train()
        for st in range(steps_per_epoch):
            idx = perm[st * bs:(st + 1) * bs]
            caps = [sample_caption(i) for i in idx]
            ids, mask = tok.batch([c[0] for c in caps])
            # unknown words: drop a few tokens to [UNK] so it gets a neutral meaning
            drop = (torch.rand(ids.shape) < 0.03) & (mask > 0) & (ids != tok.sot) & (ids != tok.eot)
            ids = torch.where(drop, torch.full_like(ids, tok.unk), ids)
            ie = F.normalize(img_enc(pre_x[idx]), dim=-1)
            te = F.normalize(txt_enc(ids, mask), dim=-1)
            # compat[r, j]: caption j says nothing that contradicts image r
            compat = np.ones((len(idx), len(idx)), dtype=bool)
            img_attr = [(pre_meta[i][0], pre_meta[i][1], classes[pre_meta[i][2]], values[pre_meta[i][3]]) for i in idx]
            for f in range(4):
                said = np.array([c[1][f] for c in caps], dtype=object)
                have = np.array([a[f] for a in img_attr], dtype=object)
                compat &= (said[None, :] == None) | (said[None, :] == have[:, None])  # noqa: E711
            tgt = torch.from_numpy(compat.astype(np.float32))
            logits = logit_scale.exp().clamp(max=100) * ie @ te.t()
            loss = 0.5 * (-(tgt / tgt.sum(1, keepdim=True) * logits.log_softmax(1)).sum(1).mean()
                          - (tgt.t() / tgt.t().sum(1, keepdim=True) * logits.t().log_softmax(1)).sum(1).mean())
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            tot += loss.item()
        if ep % 5 == 4 or ep == args.clip_epochs - 1:
            log(f'clip epoch {ep + 1} loss {tot / steps_per_epoch:.3f} scale {logit_scale.exp().item():.1f} ({time.time() - t0:.0f}s)')
    txt_enc.eval(); img_enc.eval()
    if not cached:
        torch.save({'text': txt_enc.state_dict(), 'vision': img_enc.state_dict(), 'scale': float(logit_scale.item())}, clip_cache)

    def embed_text(texts):
        with torch.no_grad():
            out = []
            for i in range(0, len(texts), 512):
                ids, mask = tok.batch(texts[i:i + 512])
                out.append(txt_enc(ids, mask))
            return torch.cat(out).numpy().astype(np.float64)

    def embed_images(u8):
        return run_batched(img_enc, to_tensor(u8, clip_mean, clip_std)).numpy().astype(np.float64)

    unit = lambda z: z / np.linalg.norm(z, axis=-1, keepdims=True)
    clip_x = {k: embed_images(v['u8']) for k, v in sets.items()}
    te_ = sets['test']
    ta = unit(embed_text(task['targetAnchors']))
    sa = unit(embed_text(task['spuriousAnchors']))
    zs_type = float((np.argmax(unit(clip_x['test']) @ ta.T, 1) == te_['y']).mean())
    zs_scene = float((np.argmax(unit(clip_x['test']) @ sa.T, 1) == te_['a']).mean())
    # also with per-kind / per-scene prompts, max over the members of each class
    kind_cls = np.array([classes.index(k['class']) for k in kinds])
    scene_val = np.array([values.index(s['value']) for s in scenes])
    kp = unit(embed_text([f"a photo of a {k['name']}." for k in kinds]))
    sp = unit(embed_text([f"a photo of a {s['name']}." for s in scenes]))
    zs_type_kinds = float((kind_cls[np.argmax(unit(clip_x['test']) @ kp.T, 1)] == te_['y']).mean())
    zs_scene_names = float((scene_val[np.argmax(unit(clip_x['test']) @ sp.T, 1)] == te_['a']).mean())
    cap_img = embed_images(cap_u8)
    cap_txt = embed_text([r['caption'] for r in cap_rows])
    gap = (cap_img - cap_txt).mean(0)
    gap_unit = (unit(cap_img) - unit(cap_txt)).mean(0)
    log(f'CLIP zero-shot test: type {zs_type:.3f} (kinds {zs_type_kinds:.3f}) scene {zs_scene:.3f} (names {zs_scene_names:.3f}); '
        f'gap |mean img - mean txt| {np.linalg.norm(gap):.3f} (normalised {np.linalg.norm(gap_unit):.3f}); '
        f'|img| {np.linalg.norm(cap_img, axis=1).mean():.2f} |txt| {np.linalg.norm(cap_txt, axis=1).mean():.2f}')

    # 4. ERM classifier: plain cross-entropy on train, no augmentation, no group information
    tr_u8 = tr['u8'].astype(np.float64) / 255.0
    cls_mean = [round(float(m), 3) for m in tr_u8.mean((0, 1, 2))]
    cls_std = [round(float(s), 3) for s in tr_u8.std((0, 1, 2))]
    del tr_u8
    torch.manual_seed(args.seed + 1)
    clf = Classifier(n_cls, widths=WIDTHS)
    xs = {k: to_tensor(v['u8'], cls_mean, cls_std) for k, v in sets.items()}
    ytr = torch.from_numpy(tr['y'])
    # 4a. the stand-in for the reference's ImageNet pretraining: the backbone first learns kind and
    # scene labels on the balanced pretrain split, so its features hold the object (DFR's premise);
    # then the whole network is fine-tuned with plain ERM on train, with a fresh head.
    pre_cx = to_tensor(pre_u8, cls_mean, cls_std)
    kind_names = [k['name'] for k in kinds]
    scene_names = [s['name'] for s in scenes]
    pk = torch.tensor([kind_names.index(m[0]) for m in pre_meta])
    ps = torch.tensor([scene_names.index(m[1]) for m in pre_meta])
    aux = nn.Linear(WIDTHS[-1], len(kinds) + len(scenes))
    opt = torch.optim.Adam(list(clf.body.parameters()) + list(aux.parameters()), lr=2e-3, weight_decay=1e-4)
    t0 = time.time()
    bb_cache = os.path.join(data, f'backbone-cache-s{args.seed}-e{args.backbone_epochs}.pt')
    bb_cached = args.reuse and os.path.exists(bb_cache)
    if bb_cached:
        clf.body.load_state_dict(torch.load(bb_cache))
        log('reusing', bb_cache)
    for ep in range(0 if bb_cached else args.backbone_epochs):
        clf.train()
        perm = torch.randperm(len(pk))
        correct = 0
        for i in range(0, len(perm), 64):
            idx = perm[i:i + 64]
            out = aux(clf.features(pre_cx[idx]))
            loss = F.cross_entropy(out[:, :len(kinds)], pk[idx]) + F.cross_entropy(out[:, len(kinds):], ps[idx])
            correct += int((out[:, :len(kinds)].argmax(1) == pk[idx]).sum())
            opt.zero_grad()
            loss.backward()
            opt.step()
        log(f'backbone epoch {ep + 1}: kind train acc {correct / len(pk):.3f} ({time.time() - t0:.0f}s)')
    del pre_cx
    if not bb_cached:
        torch.save(clf.body.state_dict(), bb_cache)
    opt = torch.optim.Adam(clf.parameters(), lr=args.erm_lr, weight_decay=1e-4)
    t0 = time.time()
    for ep in range(args.erm_epochs):
        clf.train()
        perm = torch.randperm(len(ytr))
        for i in range(0, len(perm), 64):
            idx = perm[i:i + 64]
            loss = F.cross_entropy(clf(xs['train'][idx]), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        clf.eval()
        pv = run_batched(clf, xs['val']).argmax(1).numpy()
        sv = summarise(pv, sets['val']['y'], sets['val']['a'], n_cls, n_sp, train_weights)
        log(f'erm epoch {ep + 1}: val worst {sv["worst"]:.3f} avg {sv["avg_train_weighted"]:.3f} groups {sv["groups"]} ({time.time() - t0:.0f}s)')
    clf.eval()
    feats = {k: run_batched(clf.features, xs[k]).numpy().astype(np.float64) for k in sets}
    erm = {k: summarise(run_batched(clf, xs[k]).argmax(1).numpy(), sets[k]['y'], sets[k]['a'], n_cls, n_sp, train_weights) for k in ('train', 'val', 'test')}
    log('ERM test', erm['test'])

    # 5. DFR reference: logistic regression on group-balanced val features (C chosen on val halves)
    va = sets['val']
    mu, sd = feats['train'].mean(0), feats['train'].std(0) + 1e-6
    z = {k: (feats[k] - mu) / sd for k in feats}
    half = np.random.RandomState(args.seed).rand(len(va['y'])) < 0.5
    best = None
    for l2 in (1e-1, 3e-2, 1e-2, 3e-3, 1e-3):
        W, b = logreg(z['val'][half], va['y'][half], n_cls, l2, balanced_weights(va['y'][half], va['a'][half]))
        s = summarise(np.argmax(z['val'][~half] @ W + b, 1), va['y'][~half], va['a'][~half], n_cls, n_sp, train_weights)['worst']
        if best is None or s > best[0]:
            best = (s, l2)
    W, b = logreg(z['val'], va['y'], n_cls, best[1], balanced_weights(va['y'], va['a']))
    dfr = summarise(np.argmax(z['test'] @ W + b, 1), te_['y'], te_['a'], n_cls, n_sp, train_weights)
    log('DFR test (l2 %g)' % best[1], dfr)

    # 6. numpy TLDR (tldr-method.md) as a fitness check of the world; reported on val
    X, Y = clip_x['train'], feats['train']
    lam = args.tldr_lambda
    A = X.T @ X + lam * np.eye(X.shape[1])
    Ai = np.linalg.inv(A)
    beta = Ai @ X.T @ Y
    G = gap[None, :]
    Wp = beta - Ai @ G.T @ np.linalg.inv(G @ Ai @ G.T) @ G @ beta
    bp = (Y - X @ Wp).mean(0)
    proj = lambda e: np.maximum(e @ Wp + bp, 0)  # ReLU: the classifier's features are non-negative
    Wf, bf = clf.fc.weight.detach().numpy().astype(np.float64), clf.fc.bias.detach().numpy().astype(np.float64)
    neutral = task.get('neutralPrompt', 'a photo of a {}.')

    def clean(lists):
        out = []
        for key, ws in lists.items():
            seen = set()
            for w in ws:
                w = w.strip().lower()
                if w and w not in seen:
                    seen.add(w)
                    out.append((w, key))
        return out
    tw = clean(demo_words['targets'])
    sw = clean(demo_words['spurious'])
    te_w = unit(embed_text([neutral.replace('{}', w) for w, _ in tw]))
    se_w = unit(embed_text([neutral.replace('{}', w) for w, _ in sw]))
    t_ok = np.argmax(te_w @ ta.T, 1) == np.array([classes.index(c) for _, c in tw])
    s_ok = np.argmax(se_w @ sa.T, 1) == np.array([values.index(v) for _, v in sw])
    zlog = proj(embed_text([neutral.replace('{}', w) for w, _ in tw])) @ Wf.T + bf
    l_ok = np.argmax(zlog, 1) == np.array([classes.index(c) for _, c in tw])
    T = [(w, classes.index(c)) for (w, c), ok in zip(tw, t_ok & l_ok) if ok]
    S = [(w, values.index(v)) for (w, v), ok in zip(sw, s_ok) if ok]
    unk_t = [w for w, _ in tw if all(tok.vocab.get(p, 1) == 1 for p in words_of(w))]
    log(f'words: targets {len(tw)} -> clip {int(t_ok.sum())} -> logit {len(T)}; spurious {len(sw)} -> {len(S)}; '
        f'rejected targets {[w for (w, _), ok in zip(tw, t_ok & l_ok) if not ok]}; rejected spurious {[w for (w, _), ok in zip(sw, s_ok) if not ok]}')
    templates = OPENAI_IMAGENET_TEMPLATES[:79]  # the reference never draws the 80th
    et = {w: embed_text([t.format(w) for t in templates]) for w, _ in T}
    es = {w: embed_text([t.format(w) for t in templates]) for w, _ in S}
    feats_text, yt, at = [], [], []
    for w1, c in T:
        for w2, v in S:
            feats_text.append(proj((et[w1] + es[w2]) / 2))
            yt += [c] * len(templates)
            at += [v] * len(templates)
    Ft = np.concatenate(feats_text)
    yt, at = np.array(yt), np.array(at)
    tldr = None
    for l2 in (1e-2, 1e-3, 1e-4):
        Wt, bt = logreg(Ft, yt, n_cls, l2, balanced_weights(yt, at), iters=200)
        sv = summarise(np.argmax(feats['val'] @ Wt + bt, 1), va['y'], va['a'], n_cls, n_sp, train_weights)
        log(f'numpy TLDR l2 {l2}: val worst {sv["worst"]:.3f} groups {sv["groups"]}')
        if tldr is None or sv['worst'] > tldr['val']['worst']:
            st = summarise(np.argmax(feats['test'] @ Wt + bt, 1), te_['y'], te_['a'], n_cls, n_sp, train_weights)
            tldr = {'l2': l2, 'val': sv, 'test': st}
    log('numpy TLDR (selected on val)', tldr['val']['worst'], 'test', tldr['test']['worst'])

    # 7. export
    with torch.no_grad():
        txt_enc.pos = nn.Parameter(torch.cat([txt_enc.pos, torch.zeros(CONTEXT - MAX_LEN, txt_enc.pos.shape[1])]))
    out = args.out
    os.makedirs(os.path.join(out, 'clip', 'onnx'), exist_ok=True)
    ids, mask = tok.batch(['a photo of a landbird.', 'a bad photo of the ocean in a video game.'])
    torch.onnx.export(txt_enc, (ids, mask), os.path.join(out, 'clip', 'onnx', 'text_model.onnx'),
                      input_names=['input_ids', 'attention_mask'], output_names=['text_embeds'], opset_version=17,
                      dynamic_axes={'input_ids': {0: 'batch', 1: 'sequence'}, 'attention_mask': {0: 'batch', 1: 'sequence'}, 'text_embeds': {0: 'batch'}})
    dummy = torch.zeros(2, 3, 64, 64)
    torch.onnx.export(img_enc, dummy, os.path.join(out, 'clip', 'onnx', 'vision_model.onnx'),
                      input_names=['pixel_values'], output_names=['image_embeds'], opset_version=17,
                      dynamic_axes={'pixel_values': {0: 'batch'}, 'image_embeds': {0: 'batch'}})
    torch.onnx.export(clf, dummy, os.path.join(out, 'classifier.onnx'), input_names=['input'], output_names=['logits'],
                      opset_version=17, dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}})
    for f in ('clip/onnx/text_model.onnx', 'clip/onnx/vision_model.onnx', 'classifier.onnx'):
        onnx.checker.check_model(onnx.load(os.path.join(out, f)))
    gemm_last = onnx.load(os.path.join(out, 'classifier.onnx')).graph.node[-1].op_type
    json.dump(tok.hf_json(), open(os.path.join(out, 'clip', 'tokenizer.json'), 'w'), indent=1)
    json.dump({'model_max_length': CONTEXT, 'pad_token': PAD, 'unk_token': UNK, 'bos_token': SOT, 'eos_token': EOT,
               'do_lower_case': True, 'tokenizer_class': 'PreTrainedTokenizerFast'},
              open(os.path.join(out, 'clip', 'tokenizer_config.json'), 'w'), indent=2)
    json.dump({
        'crop_size': {'height': 64, 'width': 64}, 'do_center_crop': True, 'do_convert_rgb': True, 'do_normalize': True,
        'do_rescale': True, 'do_resize': True, 'feature_extractor_type': 'CLIPFeatureExtractor',
        'image_mean': clip_mean, 'image_std': clip_std, 'image_processor_type': 'CLIPImageProcessor',
        'resample': 3, 'rescale_factor': 1 / 255, 'size': {'shortest_edge': 64},
    }, open(os.path.join(out, 'clip', 'preprocessor_config.json'), 'w'), indent=2)
    json.dump({
        'architectures': ['TinyCLIPModel'], 'model_type': 'tiny-clip', 'projection_dim': args.dim,
        'text_config': {'vocab_size': V, 'hidden_size': 64, 'num_hidden_layers': 2, 'num_attention_heads': 4,
                        'max_position_embeddings': CONTEXT, 'pad_token_id': tok.pad, 'bos_token_id': tok.sot, 'eos_token_id': tok.eot,
                        'pooling': 'mean over attention_mask'},
        'vision_config': {'image_size': 64, 'num_channels': 3, 'widths': list(WIDTHS)},
        'logit_scale': float(logit_scale.exp().item()),
        'note': 'demo model trained by tools/demo/train_demo_models.py; embeddings are unnormalised like HF text_embeds/image_embeds',
    }, open(os.path.join(out, 'clip', 'config.json'), 'w'), indent=2)

    # 8. check the exports from node (onnxruntime-node, @huggingface/tokenizers) against torch
    texts = task['targetAnchors'] + task['spuriousAnchors'] + [neutral.replace('{}', w) for w, _ in tw[:20]] + [t.format('duck') for t in OPENAI_IMAGENET_TEMPLATES]
    px = to_tensor(sets['test']['u8'][:8], clip_mean, clip_std)
    cx = xs['test'][:8]
    with torch.no_grad():
        ref_txt = txt_enc(*tok.batch(texts)).numpy()
        ref_img = img_enc(px).numpy()
        ref_clf = clf(cx).numpy()
    with tempfile.TemporaryDirectory() as tmp:
        json.dump({'texts': texts, 'ids': [tok.encode(t) for t in texts], 'text_embeds': ref_txt.tolist(),
                   'pixel_values': px.numpy().ravel().tolist(), 'image_embeds': ref_img.tolist(),
                   'classifier_input': cx.numpy().ravel().tolist(), 'logits': ref_clf.tolist()}, open(os.path.join(tmp, 'ref.json'), 'w'))
        chk = subprocess.run(['node', 'tools/demo/check_onnx.js', out, os.path.join(tmp, 'ref.json')], capture_output=True, text=True)
    if chk.returncode != 0:
        print(chk.stdout, chk.stderr)
        sys.exit('node check failed')
    check = json.loads(chk.stdout)
    log('node check', check)

    sizes = {f: os.path.getsize(os.path.join(out, f)) for f in
             ('clip/onnx/text_model.onnx', 'clip/onnx/vision_model.onnx', 'clip/tokenizer.json', 'clip/tokenizer_config.json', 'clip/preprocessor_config.json', 'clip/config.json', 'classifier.onnx')}
    pct = lambda v: round(100 * v, 1)
    provenance = {
        'world': world,
        'words_file': os.path.relpath(words_path, ROOT),
        'command': 'python3 tools/demo/train_demo_models.py ' + ' '.join(sys.argv[1:]),
        'args': vars(args),
        'versions': {'torch': torch.__version__, 'onnx': onnx.__version__, 'numpy': np.__version__, 'python': sys.version.split()[0],
                     'node': subprocess.run(['node', '--version'], capture_output=True, text=True).stdout.strip()},
        'splits': {k: len(v['y']) for k, v in sets.items()} | {'pretrain': len(pre_files), 'captions': len(cap_rows)},
        'train_group_counts': counts,
        'classifier': {'path': 'classifier.onnx', 'input': 'input', 'output': 'logits', 'last_op': gemm_last,
                       'preprocessing': {'resize': 64, 'crop': 64, 'mean': cls_mean, 'std': cls_std}, 'feature_dim': int(Y.shape[1])},
        'clip': {'dir': 'clip', 'projection_dim': args.dim, 'vocab_size': V, 'image_mean': clip_mean, 'image_std': clip_std},
        'figures_test': {
            'note': 'percent; avg = train-weighted group average as the reference reports it; mean = plain accuracy',
            'erm': {'avg': pct(erm['test']['avg_train_weighted']), 'mean': pct(erm['test']['mean']), 'worst': pct(erm['test']['worst']),
                    'groups': {k: pct(v) for k, v in erm['test']['groups'].items()}},
            'dfr': {'avg': pct(dfr['avg_train_weighted']), 'worst': pct(dfr['worst']), 'l2': best[1],
                    'groups': {k: pct(v) for k, v in dfr['groups'].items()}},
            'clip_zero_shot': {'type_anchors': pct(zs_type), 'scene_anchors': pct(zs_scene), 'type_kind_prompts': pct(zs_type_kinds), 'scene_name_prompts': pct(zs_scene_names)},
            'modality_gap': {'norm_unnormalised': round(float(np.linalg.norm(gap)), 4), 'norm_l2_normalised': round(float(np.linalg.norm(gap_unit)), 4),
                             'mean_image_norm': round(float(np.linalg.norm(cap_img, axis=1).mean()), 4),
                             'mean_text_norm': round(float(np.linalg.norm(cap_txt, axis=1).mean()), 4), 'pairs': len(cap_rows)},
        },
        'figures_erm_by_split': {
            'note': 'percent; the ERM classifier on every split (train is what it was fitted on)',
            **{k: {'avg': pct(erm[k]['avg_train_weighted']), 'worst': pct(erm[k]['worst']),
                   'groups': {g: pct(v) for g, v in erm[k]['groups'].items()}} for k in ('train', 'val', 'test')},
        },
        'numpy_tldr_check': {
            'note': 'sanity check of the world, not the engine: selected on val; lambda %g, mean gap, G W = 0, ReLU' % lam,
            'words_kept': {'targets': len(T), 'spurious': len(S), 'targets_total': len(tw), 'spurious_total': len(sw)},
            'val_worst': pct(tldr['val']['worst']), 'val_groups': {k: pct(v) for k, v in tldr['val']['groups'].items()},
            'test_worst': pct(tldr['test']['worst']), 'l2': tldr['l2'],
            'erm_val_worst': pct(erm['val']['worst']),
        },
        'onnx_check': check,
        'sizes_bytes': sizes,
        'total_bytes': sum(sizes.values()),
        'train_seconds': round(time.time() - t_start),
    }
    json.dump(provenance, open(os.path.join(out, 'provenance.json'), 'w'), indent=1)
    log('wrote', out, 'total bytes', provenance['total_bytes'])
    print(json.dumps({k: provenance[k] for k in ('figures_test', 'numpy_tldr_check', 'total_bytes')}, indent=1))


if __name__ == '__main__':
    main()
