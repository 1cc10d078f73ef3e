"""The PyTorch side of bench/lm: the decoder.Model transformer, by hand.

Reads the batch and the initial weights the Go side wrote (main.go), trains
with Adam on the SFT loss and generates greedily, and prints one JSON line
with the same fields as the Go worker's result.

The architecture is GoMLX v0.28.16's ml/zoo/transformer as algos/decoder
configures it ("standard" architecture):

    x = E[tokens]                                  E: [V, D], no position embedding
    per layer (post-norm):
        q, k, v = x Wq + bq, x Wk + bk, x Wv + bv  each [B, L, H, Dh]
        q, k = RoPE(q), RoPE(k)                    base 10000, halves (not interleaved)
        a = softmax(q·k / √Dh, causal) v           -> [B, L, H·Dh]
        x = LayerNorm1(x + a Wo + bo)
        x = LayerNorm2(x + gelu_tanh(x W1 + b1) W2 + b2)
    logits = LayerNorm_final(x) Wout               Wout: [D, V], no bias

Dense weights are stored [in, out] (GoMLX's layout), so y = x W + b; every
LayerNorm has ε = 1e-5, a gain and an offset. RoPE rotates the pair
(x[i], x[i + Dh/2]) by the angle pos / 10000^(2i/Dh).

Loss: mean over rows of −Σ_t mask[t]·log softmax(logits[t])[target[t]].
Adam: lr 1e-3, betas (0.9, 0.999), ε = 1e-7 (GoMLX's default), float32.
Generation: greedy; each step runs the full B×L window (PAD-filled, no KV
cache), as decoder.Model.Sample does.
"""
import argparse
import json
import math
import resource
import time

import torch
import torch.nn.functional as F


def cpu_seconds():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


class Decoder(torch.nn.Module):
    def __init__(self, cfg, weights):
        super().__init__()
        self.V, self.D, self.H = cfg["vocab"], cfg["dim"], cfg["heads"]
        self.Dh = self.D // self.H
        self.n_layers = cfg["layers"]
        self.names = {}
        for w in weights:
            t = torch.tensor(w["values"], dtype=torch.float32).reshape(w["shape"])
            key = w["name"].strip("/").replace("/", ".")
            p = torch.nn.Parameter(t)
            self.register_parameter(key.replace(".", "__"), p)
            self.names[w["name"]] = p
        half = self.Dh // 2
        inv_freq = 1.0 / (10000.0 ** (torch.arange(half, dtype=torch.float32) * (2.0 / self.Dh)))
        self.register_buffer("inv_freq", inv_freq)

    def w(self, path):
        return self.names["/policy/" + path]

    def dense(self, x, scope, bias=True):
        y = x @ self.w(scope + "/dense/weights")
        if bias:
            y = y + self.w(scope + "/dense/biases")
        return y

    def norm(self, x, scope):
        s = scope + "/layer_normalization/"
        return F.layer_norm(x, (self.D,), self.w(s + "gain"), self.w(s + "offset"), eps=1e-5)

    def rope(self, x, cos, sin):
        half = self.Dh // 2
        x1, x2 = x[..., :half], x[..., half:]
        return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)

    def forward(self, tokens):
        B, L = tokens.shape
        H, Dh = self.H, self.Dh
        x = self.w("token_embed/embeddings")[tokens]
        ang = torch.arange(L, dtype=torch.float32)[:, None] * self.inv_freq[None, :]  # [L, Dh/2]
        cos, sin = torch.cos(ang)[:, None, :], torch.sin(ang)[:, None, :]  # broadcast over heads
        causal = torch.ones(L, L, dtype=torch.bool).tril()
        for i in range(self.n_layers):
            a = f"layer_{i}/attn/MultiHeadAttention/"
            q = self.rope(self.dense(x, a + "query").view(B, L, H, Dh), cos, sin)
            k = self.rope(self.dense(x, a + "key").view(B, L, H, Dh), cos, sin)
            v = self.dense(x, a + "value").view(B, L, H, Dh)
            q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)  # [B, H, L, Dh]
            s = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(Dh))
            s = s.masked_fill(~causal, float("-inf"))
            att = (torch.softmax(s, dim=-1) @ v).transpose(1, 2).reshape(B, L, H * Dh)
            x = self.norm(x + self.dense(att, a + "output"), f"layer_{i}/norm1")
            ff = self.dense(F.gelu(self.dense(x, f"layer_{i}/ff1"), approximate="tanh"), f"layer_{i}/ff2")
            x = self.norm(x + ff, f"layer_{i}/norm2")
        x = self.norm(x, "final_norm")
        return self.dense(x, "output", bias=False)


def sft_loss(model, inputs, targets, mask):
    logp = torch.log_softmax(model(inputs), dim=-1)
    tok = logp.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    return -(tok * mask).sum(-1).mean()


@torch.no_grad()
def generate(model, bf, prompts, max_new=0):
    """Greedy completions of prompts, as decoder.Model.Sample with T → 0."""
    B, L = len(prompts), bf["L"]
    seqs = [[bf["bos"]] + list(p.encode()) for p in prompts]
    gen = [[] for _ in prompts]
    done = [False] * B
    while not all(done):
        window = torch.full((B, L), bf["pad"], dtype=torch.long)
        for i, s in enumerate(seqs):
            window[i, : len(s)] = torch.tensor(s)
        last = torch.tensor([len(s) - 1 for s in seqs])
        logits = model(window)[torch.arange(B), last]  # [B, V]
        # Ties go to the lowest id, as in Sample's stable sort.
        nxt = logits.argmax(dim=-1).tolist()
        for i in range(B):
            if done[i]:
                continue
            gen[i].append(nxt[i])
            if nxt[i] == bf["eos"]:
                done[i] = True
                continue
            seqs[i].append(nxt[i])
            if len(seqs[i]) >= L or (max_new > 0 and len(gen[i]) >= max_new):
                done[i] = True
    return gen


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", required=True, help="the batch JSON written by main.go")
    ap.add_argument("--init", required=True, help="the initial weights JSON written by main.go")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)  # nothing below draws random numbers; seeded in case that changes
    with open(a.batch) as f:
        bf = json.load(f)
    with open(a.init) as f:
        init = json.load(f)
    B, L = bf["B"], bf["L"]
    inputs = torch.tensor(bf["inputs"], dtype=torch.long).view(B, L)
    targets = torch.tensor(bf["targets"], dtype=torch.long).view(B, L)
    mask = torch.tensor(bf["mask"], dtype=torch.float32).view(B, L)

    model = Decoder(init["config"], init["weights"])
    gen_model = Decoder(init["config"], init["weights"])  # generation starts from the initial weights
    params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.Adam(model.parameters(), lr=a.lr, betas=(0.9, 0.999), eps=1e-7)

    def step():
        opt.zero_grad()
        loss = sft_loss(model, inputs, targets, mask)
        loss.backward()
        opt.step()
        return loss.item()

    t0 = time.perf_counter()
    loss0 = step()
    first_ms = (time.perf_counter() - t0) * 1e3
    c0, t0 = cpu_seconds(), time.perf_counter()
    for _ in range(a.steps):
        last = step()
    wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0

    generate(gen_model, bf, bf["prompts"], max_new=1)  # warm-up, as the Go side's
    gc0, gt0 = cpu_seconds(), time.perf_counter()
    gen = generate(gen_model, bf, bf["prompts"])
    gwall, gcpu = time.perf_counter() - gt0, cpu_seconds() - gc0
    n_gen = sum(len(g) for g in gen)
    print(json.dumps({
        "side": "torch", "threads": torch.get_num_threads(), "params": params,
        "first_step_ms": first_ms,
        "train_wall_ms": wall * 1e3 / a.steps, "train_cpu_ms": cpu * 1e3 / a.steps,
        "train_tok_s": a.steps * B * L / wall,
        "loss0": loss0, "loss_final": last,
        "gen_tokens": n_gen, "gen_wall_s": gwall, "gen_cpu_s": gcpu, "gen_tok_s": n_gen / gwall,
        "gen_ids": gen,
    }))


if __name__ == "__main__":
    main()
