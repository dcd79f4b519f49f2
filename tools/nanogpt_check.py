#!/usr/bin/env python3
"""Loads a MinRnn transformer checkpoint into nanoGPT's own GPT (karpathy/nanoGPT's model.py, given
by path and imported from there, not copied into this project) with load_state_dict(strict=True)
and computes the validation loss of the model specification (§4: windows of the training context
over the last 10% of the text), so it can be compared with `minrnn eval --json`. Needs PyTorch and
NumPy; nothing in the project's build or tests needs this script.

    python3 tools/nanogpt_check.py nanoGPT/model.py runs/gpt/best.safetensors tinyshakespeare.txt

With PyTorch < 2.0, nanoGPT's attention has no scaled_dot_product_attention and registers its causal
mask as a persistent buffer `transformer.h.{i}.attn.bias`, which a checkpoint does not hold: the
script takes those mask buffers (and only non-parameter buffers) from the freshly built model, so
every parameter is still checked by strict loading.

Given nanoGPT's own training checkpoint (`ckpt.pt` from its train.py) instead, the script computes the
same validation loss for nanoGPT's own model, whose vocabulary is the text's sorted characters and whose
context is given as a fourth argument (the block size by default):

    python3 tools/nanogpt_check.py nanoGPT/model.py out-shakespeare-char/ckpt.pt tinyshakespeare.txt 64
"""
import importlib.util
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.dont_write_bytecode = True  # leave no __pycache__ in tools/
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_check import read_safetensors  # noqa: E402  (the same reader as the recurrent check)


def import_nanogpt(path):
    spec = importlib.util.spec_from_file_location("nanogpt_model", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.GPT, module.GPTConfig


def load_ours(GPT, GPTConfig, checkpoint):
    """Our safetensors checkpoint in nanoGPT's GPT, strictly; returns the model, its vocabulary and context."""
    state, metadata = read_safetensors(checkpoint)
    assert metadata.get("architecture") == "transformer", metadata.get("architecture")
    config = GPTConfig(n_layer=int(metadata["layers"]), n_head=int(metadata["heads"]), n_embd=int(metadata["dim"]),
                       block_size=int(metadata["block_size"]), vocab_size=int(metadata["vocab_size"]),
                       bias=False, dropout=0.0)
    model = GPT(config)
    # nanoGPT ties lm_head.weight to transformer.wte.weight; the file holds both names with equal values.
    assert torch.equal(state["lm_head.weight"], state["transformer.wte.weight"]), "lm_head and wte differ"
    buffers = {name for name, _ in model.named_buffers()}
    filled = []
    for name, value in model.state_dict().items():  # the causal-mask buffers of torch < 2.0 only
        if name not in state and name in buffers:
            state[name] = value
            filled.append(name)
    model.load_state_dict(state, strict=True)
    assert model.lm_head.weight is model.transformer.wte.weight
    print(f"loaded {len(state) - len(filled)} checkpoint tensors with load_state_dict(strict=True); "
          f"buffers from the model: {filled if filled else 'none'}", file=sys.stderr)
    return model, metadata["vocabulary"], int(metadata["context"])


def load_nanogpt(GPT, GPTConfig, checkpoint, text, context):
    """nanoGPT's own ckpt.pt (its train.py's model_args and state); its vocabulary is the text's sorted characters."""
    saved = torch.load(checkpoint, map_location="cpu")
    model = GPT(GPTConfig(**saved["model_args"]))
    # train.py saves the compiled model's names with a prefix when --compile is on.
    model.load_state_dict({k.removeprefix("_orig_mod."): v for k, v in saved["model"].items()}, strict=True)
    print(f"nanoGPT checkpoint at iteration {saved['iter_num']}, its own best_val_loss estimate "
          f"{saved['best_val_loss']:.4f}", file=sys.stderr)
    return model, "".join(sorted(set(text))), context or saved["model_args"]["block_size"]


def main(model_py, checkpoint, text_path, context=None):
    GPT, GPTConfig = import_nanogpt(model_py)
    text = open(text_path, encoding="utf-8").read()
    if checkpoint.endswith(".safetensors"):
        model, vocabulary, c = load_ours(GPT, GPTConfig, checkpoint)
    else:
        model, vocabulary, c = load_nanogpt(GPT, GPTConfig, checkpoint, text, context)
    model.eval()
    count = sum(p.numel() for p in model.parameters())  # unique parameters: the tied matrix once
    ids = {ch: i for i, ch in enumerate(vocabulary)}
    tokens = torch.tensor([ids[ch] for ch in text])
    validation = tokens[len(tokens) * 9 // 10:]
    assert c <= model.config.block_size, (c, model.config.block_size)
    windows = (len(validation) - 1) // c
    total, positions, nano_total = 0.0, 0, 0.0
    with torch.no_grad():
        for first in range(0, windows, 64):
            rows = range(first, min(first + 64, windows))
            batch = torch.stack([validation[w * c: w * c + c + 1] for w in rows])
            targets = batch[:, 1:].contiguous()  # nanoGPT views targets with .view(-1)
            logits, loss = model(batch[:, :-1], targets)  # with targets, logits cover every position
            total += F.cross_entropy(logits.double().reshape(-1, logits.shape[-1]), targets.reshape(-1),
                                     reduction="sum").item()
            nano_total += loss.item() * targets.numel()
            positions += targets.numel()
    val_loss = total / positions
    print(json.dumps({"checkpoint": checkpoint, "data": text_path, "nanogpt": model_py,
                      "loaded": "load_state_dict(strict=True)", "parameters": count, "context": c,
                      "windows": windows, "positions": positions, "val_loss": val_loss,
                      "val_loss_nanogpt": nano_total / positions, "bpc": val_loss / math.log(2),
                      "torch": torch.__version__}))


if __name__ == "__main__":
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) == 5 else None)
