"""Python peers of the benchmark (numpy and PyTorch eager), run by bench/run.mjs.

Each subcommand prints one JSON object on the last line of stdout.
  info                         versions, threads and the BLAS library actually mapped into the process
  projector DIR REPEATS        the reference formula (tldr.py, analytic) on DIR/{X,Y,G}.f64, writes DIR/{W,b}.np.f64
  retrain N DIM EPOCHS BATCH LR WD   nn.Linear + CrossEntropy + AdamW over N random examples, per-epoch times
  dfr DIR                      DFR(Val) with scikit-learn's liblinear L1 (default stopping, as dfr_evaluate_spurious.py)
                               on DIR/{val,train}.f64 and the index sets in DIR/dfr.json; time, chosen C, averaged model
  encode LIST BATCH            PIL decode + bicubic resize + centre crop + normalise, then ResNet-50 features and
                               CLIP image embeddings in eager mode (the official pipeline's choice), per-image time
Usage: /usr/bin/python3 tools/bench/peers.py <subcommand> ...
"""
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def blas_libs():
    """The BLAS/LAPACK shared objects this process mapped (after numpy has run a product)."""
    a = np.ones((64, 64))
    a @ a
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            p = line.split()[-1]
            if any(k in os.path.basename(p) for k in ("blas", "lapack", "mkl")):
                libs.add(p)
    return sorted(libs)


def info():
    out = {"numpy": np.__version__, "blas": blas_libs(), "cpus": os.cpu_count()}
    try:
        import torch
        out["torch"] = torch.__version__
        out["torch_threads"] = torch.get_num_threads()
        out["torch_blas"] = [l for l in torch.__config__.show().splitlines() if "BLAS" in l][:2]
    except ImportError:
        out["torch"] = None
    try:
        import sklearn
        out["sklearn"] = sklearn.__version__
    except ImportError:
        out["sklearn"] = None
    return out


def projector(folder, repeats):
    shape = json.load(open(os.path.join(folder, "shape.json")))
    n, d, D, lam = shape["n"], shape["d"], shape["D"], shape["lambda"]
    X = np.fromfile(os.path.join(folder, "X.f64"), dtype=np.float64).reshape(n, d)
    Y = np.fromfile(os.path.join(folder, "Y.f64"), dtype=np.float64).reshape(n, D)
    G = np.fromfile(os.path.join(folder, "G.f64"), dtype=np.float64).reshape(1, d)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        # tldr.py, proj_method=analytic: float64 inverses, constraint G W = 0, bias = mean residual
        A_inv = np.linalg.inv(X.T @ X + lam * np.eye(d))
        beta = A_inv @ X.T @ Y
        W = beta - A_inv @ G.T @ np.linalg.inv(G @ A_inv @ G.T) @ G @ beta
        b = np.mean(Y - X @ W, axis=0)
        times.append(time.perf_counter() - t)
    W.astype(np.float64).tofile(os.path.join(folder, "W.np.f64"))
    b.astype(np.float64).tofile(os.path.join(folder, "b.np.f64"))
    return {"seconds": times}


def dfr(folder):
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    meta = json.load(open(os.path.join(folder, "dfr.json")))
    D = meta["D"]
    X = np.fromfile(os.path.join(folder, "val.f64"), dtype=np.float64).reshape(-1, D)
    T = np.fromfile(os.path.join(folder, "train.f64"), dtype=np.float64).reshape(-1, D)
    y, g = np.array(meta["labels"]), np.array(meta["groups"])
    fit_rows, held = np.array(meta["balancedFit"]), np.array(meta["heldout"])
    t = time.perf_counter()
    # tuning: scaler on the balanced half, each C scored by worst-group accuracy on the other half
    sc = StandardScaler().fit(X[fit_rows])
    Xf, Xh = sc.transform(X[fit_rows]), sc.transform(X[held])
    worst = []
    for C in meta["cGrid"]:
        p = LogisticRegression(penalty="l1", solver="liblinear", C=C).fit(Xf, y[fit_rows]).predict(Xh)
        worst.append(float(min((p[g[held] == k] == y[held][g[held] == k]).mean() for k in np.unique(g[held]))))
    C = meta["cGrid"][int(np.argmax(worst))]
    # final: train-set scaler, one fit per group-balanced subset, coefficients averaged
    sc = StandardScaler().fit(T)
    coefs, intercepts = [], []
    for rows in meta["subsets"]:
        rows = np.array(rows)
        lr = LogisticRegression(penalty="l1", solver="liblinear", C=C).fit(sc.transform(X[rows]), y[rows])
        coefs.append(lr.coef_)
        intercepts.append(lr.intercept_)
    seconds = time.perf_counter() - t
    return {
        "seconds": seconds,
        "chosenC": C,
        "heldoutWorstGroup": worst,
        "coef": np.mean(coefs, axis=0).ravel().tolist(),
        "intercept": np.mean(intercepts, axis=0).ravel().tolist(),
    }


def retrain(n, dim, epochs, batch, lr, wd):
    import torch
    from torch import nn
    torch.manual_seed(0)
    # projected text embeddings are non-negative (ReLU) features; the values do not change the timing
    X = torch.relu(torch.randn(n, dim))
    y = torch.randint(0, 2, (n,))
    head = nn.Linear(dim, 2)  # float32, as the reference (tldr.py) trains it
    opt = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=wd)
    loss_fn = nn.CrossEntropyLoss()
    times = []
    for _ in range(epochs):
        t = time.perf_counter()
        order = torch.randperm(n)
        for s in range(0, n, batch):
            idx = order[s:s + batch]
            loss = loss_fn(head(X[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - t)
    return {"epoch_seconds": times, "threads": torch.get_num_threads()}


def encode(listfile, batch, threads=0):
    import torch
    from PIL import Image
    sys.path.insert(0, HERE)
    from bench_models import build
    torch.set_num_threads(threads or os.cpu_count() or 1)
    paths = [p for p in open(listfile).read().splitlines() if p]
    resnet, vision = build("resnet50"), build("vision")
    # the two preprocessings the engine uses: ImageNet (resize 256, crop 224) and CLIP (224, 224)
    pre = [(256, np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])),
           (224, np.array([0.48145466, 0.4578275, 0.40821073]), np.array([0.26862954, 0.26130258, 0.27577711]))]

    def prep(img, size, mean, std):
        w, h = img.size
        s = size / min(w, h)
        img = img.resize((max(224, round(w * s)), max(224, round(h * s))), Image.BICUBIC)
        w, h = img.size
        l, t = (w - 224) // 2, (h - 224) // 2
        a = np.asarray(img.crop((l, t, l + 224, t + 224)), dtype=np.float32) / 255.0
        return ((a - mean) / std).transpose(2, 0, 1).astype(np.float32)

    with torch.no_grad():
        vision(torch.zeros(1, 3, 224, 224)); resnet(torch.zeros(1, 3, 224, 224))  # warm-up
        t = time.perf_counter()
        model_s = 0.0
        for s in range(0, len(paths), batch):
            imgs = [Image.open(p).convert("RGB") for p in paths[s:s + batch]]
            px = [torch.from_numpy(np.stack([prep(im, *p) for im in imgs])) for p in pre]
            m = time.perf_counter()
            resnet(px[0]); vision(px[1])
            model_s += time.perf_counter() - m
        total = time.perf_counter() - t
    return {"images": len(paths), "batch": batch, "seconds": total, "model_seconds": model_s, "threads": torch.get_num_threads()}


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "info":
        out = info()
    elif cmd == "projector":
        out = projector(args[0], int(args[1]))
    elif cmd == "retrain":
        out = retrain(int(args[0]), int(args[1]), int(args[2]), int(args[3]), float(args[4]), float(args[5]))
    elif cmd == "dfr":
        out = dfr(args[0])
    elif cmd == "encode":
        out = encode(args[0], int(args[1]), int(args[2]) if len(args) > 2 else 0)
    else:
        raise SystemExit(f"unknown subcommand {cmd}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
