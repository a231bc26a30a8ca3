"""Comparator for `deno task bench --suite train`: one epoch of the reference VIBANN in single-thread PyTorch.

Issue 4 sets the target "a reference-architecture epoch (430 rows, batch 32) on the software adapter no slower than
single-thread PyTorch on this machine". This script measures that PyTorch number on the machine at hand, so the
comparison is made on the same day and the same CPU. It is not run by CI and nothing in the project imports it.

The network is §2 of the reference document: simplex → softmax gate ⊙ s → Dense 64; pairwise products (1540) →
Dense 128 → 64; fuse → Dense 64 → VIB (L = 64, reparameterised); load → Dense 32; head on [z, load] → 64 → 1;
decoder z → 128 → 64 → softmax. Every hidden block is Dense-ReLU → BatchNorm (eps 1e-3, momentum 0.99 in Keras
terms) → dropout 0.11. Loss: weighted MSE + 0.5 · weighted KL(composition ‖ reconstruction) + β · KL / L; Adam 1e-3.
Each epoch is 14 shuffled training steps, a validation forward over 108 rows and the β controller, like ours.

Usage: python3 bench/torch_reference_epoch.py [--epochs 20] [--threads 1]   (prints one JSON line)
"""

import argparse
import json
import statistics
import time

import torch
from torch import nn

E, L, P_DROP = 56, 64, 0.11


def hardness_like(seed=1, n=538):
    """Synthetic rows with the hardness problem's shape (3–6 elements per alloy), as bench/train.ts makes them."""
    g = torch.Generator().manual_seed(seed)
    comp = torch.zeros(n, E)
    for i in range(n):
        k = 3 + int(torch.randint(0, 4, (1,), generator=g))
        els = torch.randperm(E, generator=g)[:k]
        w = 0.1 + torch.rand(k, generator=g)
        comp[i, els] = w / w.sum()
    load = torch.tensor([0.01, 0.49, 0.98, 1.96, 9.8])[torch.randint(0, 5, (n,), generator=g)]
    hv = 400 + 1500 * comp.max(dim=1).values + 50 * torch.log(load + 1)
    y = (hv - hv.mean()) / hv.std()
    lz = (load - load.mean()) / load.std()
    return comp, lz[:, None], y[:, None], torch.ones(n)


class Block(nn.Module):
    def __init__(self, i, o):
        super().__init__()
        self.d = nn.Linear(i, o)
        self.bn = nn.BatchNorm1d(o, eps=1e-3, momentum=0.01)
        self.do = nn.Dropout(P_DROP)

    def forward(self, x):
        return self.do(self.bn(torch.relu(self.d(x))))


class Vibann(nn.Module):
    def __init__(self):
        super().__init__()
        iu = torch.triu_indices(E, E, offset=1)
        self.register_buffer("ia", iu[0])
        self.register_buffer("ib", iu[1])
        self.gate = nn.Linear(E, E)
        self.enc1 = Block(E, 64)
        self.pair1 = Block(E * (E - 1) // 2, 128)
        self.pair2 = Block(128, 64)
        self.fuse1 = Block(128, 64)
        self.mu = nn.Linear(64, L)
        self.logvar = nn.Linear(64, L)
        self.load1 = Block(1, 32)
        self.hard1 = Block(L + 32, 64)
        self.out = nn.Linear(64, 1)
        self.dec1 = Block(L, 128)
        self.dec2 = Block(128, 64)
        self.recon = nn.Linear(64, E)

    def forward(self, comp, load):
        r = torch.relu(comp)
        s = r / r.sum(-1, keepdim=True).clamp_min(1e-8)
        a = torch.softmax(self.gate(s), -1)
        e = self.enc1(s * a)
        p = self.pair2(self.pair1(s[:, self.ia] * s[:, self.ib]))
        h = self.fuse1(torch.cat([e, p], -1))
        mu, lv = self.mu(h), self.logvar(h)
        z = mu + torch.exp(0.5 * lv) * torch.randn_like(mu) if self.training else mu
        kl = 0.5 * (torch.exp(lv) + mu * mu - 1 - lv).sum(-1)
        y = self.out(self.hard1(torch.cat([z, self.load1(load)], -1)))
        rec = torch.softmax(self.recon(self.dec2(self.dec1(z))), -1)
        return y, rec, kl


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    comp, load, y, w = hardness_like()
    tr, va = torch.arange(430), torch.arange(430, 538)
    model = Vibann()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    beta = 1e-3

    def epoch():
        nonlocal beta
        model.train()
        kls = []
        for idx in tr[torch.randperm(len(tr))].split(32):
            yp, rec, kl = model(comp[idx], load[idx])
            t, p = comp[idx].clamp(1e-7, 1), rec.clamp(1e-7, 1)
            mse = (w[idx] * (y[idx] - yp).square().sum(-1)).mean()
            recon = (w[idx] * (t * torch.log(t / p)).sum(-1)).mean()
            loss = mse + 0.5 * recon + beta * kl.mean() / L
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            kls.append(kl.detach().mean() / L)
        model.eval()
        with torch.no_grad():
            yp, _, _ = model(comp[va], load[va])
            val = float((w[va] * (y[va] - yp).square().sum(-1)).mean())
        kl_epoch = float(torch.stack(kls).mean())
        beta = min(100.0, max(1e-6, beta / 1.05 if kl_epoch < 0.15 else beta * 1.05))
        return val

    for _ in range(3):
        epoch()  # warm-up
    times = []
    for _ in range(args.epochs):
        t0 = time.perf_counter()
        epoch()
        times.append((time.perf_counter() - t0) * 1000)
    print(json.dumps({
        "suite": "train",
        "name": "torch_reference_epoch",
        "torch": torch.__version__,
        "threads": args.threads,
        "median_ms": round(statistics.median(times), 3),
        "min_ms": round(min(times), 3),
    }))


if __name__ == "__main__":
    main()
