#!/usr/bin/env python3
"""Loads a MinRnn checkpoint into a plain PyTorch model with load_state_dict and computes the
validation loss of the model specification (windows of the training context, each from h0 = 0),
so it can be compared with `minrnn eval --json`. Needs PyTorch and NumPy; nothing in the project's
build or tests needs this script.

    python3 tools/pytorch_check.py runs/quick/best.safetensors tinyshakespeare.txt
"""
import json
import math
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def read_safetensors(path):
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
        data = f.read()
    metadata = header.pop("__metadata__", {})
    tensors = {}
    for name, entry in header.items():
        assert entry["dtype"] == "F32", entry["dtype"]
        begin, end = entry["data_offsets"]
        array = np.frombuffer(data[begin:end], dtype="<f4").reshape(entry["shape"])
        tensors[name] = torch.from_numpy(array.copy())
    return tensors, metadata


def g(v):
    return torch.where(v >= 0, v + 0.5, torch.sigmoid(v))


class MinGru(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.gate_hidden = nn.Linear(dim, 2 * hidden)

    def forward(self, x):  # sequential form: h_t = (1 - z) h_{t-1} + z g(u)
        k, u = self.gate_hidden(x).chunk(2, dim=-1)
        z, a = torch.sigmoid(k), torch.sigmoid(-k)
        h, out = torch.zeros_like(k[:, 0]), []
        for t in range(x.shape[1]):
            h = a[:, t] * h + z[:, t] * g(u[:, t])
            out.append(h)
        return torch.stack(out, dim=1)


class MinLstm(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.gates_hidden = nn.Linear(dim, 3 * hidden)

    def forward(self, x):  # f' = f / (f + i), i' = i / (f + i)
        p, k, u = self.gates_hidden(x).chunk(3, dim=-1)
        f, i = torch.sigmoid(p), torch.sigmoid(k)
        fp, ip = f / (f + i), i / (f + i)
        h, out = torch.zeros_like(p[:, 0]), []
        for t in range(x.shape[1]):
            h = fp[:, t] * h + ip[:, t] * g(u[:, t])
            out.append(h)
        return torch.stack(out, dim=1)


class Classic(nn.Module):
    """One single-layer nn.GRU / nn.LSTM named `rnn`, as MinRnn's `layers.{i}.rnn.*` tensors expect."""

    def __init__(self, kind, dim):
        super().__init__()
        self.rnn = kind(dim, dim, batch_first=True)

    def forward(self, x):
        return self.rnn(x)[0]


class RmsNorm(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * self.weight


class Block(nn.Module):
    def __init__(self, cell, dim, hidden, kernel, mlp):
        super().__init__()
        self.kernel = kernel
        if kernel > 0:
            self.conv = nn.Conv1d(dim, dim, kernel, groups=dim)
        self.norm1, self.norm2 = RmsNorm(dim), RmsNorm(dim)
        self.cell = cell(dim, hidden)
        self.to_out = nn.Linear(hidden, dim)
        self.mlp_up, self.mlp_down = nn.Linear(dim, mlp * dim), nn.Linear(mlp * dim, dim)

    def forward(self, x):
        if self.kernel > 0:
            x = x + self.conv(F.pad(x.transpose(1, 2), (self.kernel - 1, 0))).transpose(1, 2)
        x = x + self.to_out(self.cell(self.norm1(x)))
        return x + self.mlp_down(F.gelu(self.mlp_up(self.norm2(x)), approximate="tanh"))


class LanguageModel(nn.Module):
    def __init__(self, m):
        super().__init__()
        vocab, dim, layers = int(m["vocab_size"]), int(m["dim"]), int(m["layers"])
        classic = {"gru": nn.GRU, "lstm": nn.LSTM}.get(m["cell"])
        cell = MinGru if m["cell"] == "mingru" else MinLstm
        self.residual = m["architecture"] == "residual"
        self.embedding = nn.Embedding(vocab, dim)
        if self.residual:
            hidden = int(m["hidden"])
            self.layers = nn.ModuleList(Block(cell, dim, hidden, int(m["conv_kernel"]), int(m["mlp_multiplier"])) for _ in range(layers))
            self.norm_f = RmsNorm(dim)
        elif classic is not None:
            self.layers = nn.ModuleList(Classic(classic, dim) for _ in range(layers))
        else:
            self.layers = nn.ModuleList(cell(dim, dim) for _ in range(layers))
        self.head = nn.Linear(dim, vocab)

    def forward(self, tokens):
        x = self.embedding(tokens)
        for layer in self.layers:
            x = layer(x)
        return self.head(self.norm_f(x) if self.residual else x)


def main(checkpoint, text_path):
    state, metadata = read_safetensors(checkpoint)
    model = LanguageModel(metadata)
    model.load_state_dict(state, strict=True)
    model.eval()
    ids = {ch: i for i, ch in enumerate(metadata["vocabulary"])}
    text = open(text_path, encoding="utf-8").read()
    tokens = torch.tensor([ids[ch] for ch in text])
    validation = tokens[len(tokens) * 9 // 10:]
    c = int(metadata["context"])
    windows = (len(validation) - 1) // c
    total, count = 0.0, 0
    with torch.no_grad():
        for first in range(0, windows, 64):
            rows = range(first, min(first + 64, windows))
            batch = torch.stack([validation[w * c: w * c + c + 1] for w in rows])
            logits = model(batch[:, :-1])
            total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1), reduction="sum").item()
            count += batch[:, 1:].numel()
    loss = total / count
    print(json.dumps({"checkpoint": checkpoint, "loaded": "load_state_dict(strict=True)", "val_loss": loss, "bpc": loss / math.log(2)}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
