#!/usr/bin/env python3
"""Loads a MinRnn mamba checkpoint into mamba-minimal's own Mamba (johnma2006/mamba-minimal's model.py, given by path
and imported from there, not copied into this project) with load_state_dict(strict=True) and computes the validation
loss of the model specification (§4: windows of the training context over the last 10% of the text, each from a zero
state), so it can be compared with `minrnn eval --json`. Needs PyTorch, NumPy and einops (which model.py imports);
nothing in the project's build or tests needs this script.

    python3 tools/mamba_check.py mamba-minimal/model.py runs/mamba/best.safetensors tinyshakespeare.txt

mamba-minimal pads the vocabulary to a multiple of 8 by default; the script asks for no padding
(pad_vocab_size_multiple=1), so the embedding keeps the checkpoint's 65 rows.
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


def import_mamba_minimal(path):
    spec = importlib.util.spec_from_file_location("mamba_minimal_model", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its @dataclass looks its module up while the module is being executed
    spec.loader.exec_module(module)
    return module.Mamba, module.ModelArgs


def main(model_py, checkpoint, text_path):
    Mamba, ModelArgs = import_mamba_minimal(model_py)
    state, metadata = read_safetensors(checkpoint)
    assert metadata.get("architecture") == "mamba", metadata.get("architecture")
    args = ModelArgs(d_model=int(metadata["dim"]), n_layer=int(metadata["layers"]), vocab_size=int(metadata["vocab_size"]),
                     d_state=int(metadata["state"]), expand=float(metadata["expansion"]), d_conv=int(metadata["conv_kernel"]),
                     pad_vocab_size_multiple=1)
    assert (args.d_inner, args.dt_rank) == (int(metadata["hidden"]), int(metadata["dt_rank"])), (args.d_inner, args.dt_rank)
    model = Mamba(args)
    # mamba-minimal ties lm_head.weight to embedding.weight; the file holds both names with equal values.
    assert torch.equal(state["lm_head.weight"], state["embedding.weight"]), "lm_head and embedding differ"
    model.load_state_dict(state, strict=True)
    model.eval()
    assert model.lm_head.weight is model.embedding.weight
    count = sum(p.numel() for p in model.parameters())  # unique parameters: the tied matrix once
    print(f"loaded {len(state)} checkpoint tensors with load_state_dict(strict=True): {count} parameters", file=sys.stderr)

    ids = {ch: i for i, ch in enumerate(metadata["vocabulary"])}
    text = open(text_path, encoding="utf-8").read()
    tokens = torch.tensor([ids[ch] for ch in text])
    validation = tokens[len(tokens) * 9 // 10:]
    c = int(metadata["context"])
    windows = (len(validation) - 1) // c
    total, positions = 0.0, 0
    with torch.no_grad():
        for first in range(0, windows, 32):  # mamba-minimal's scan holds [batch, C, d_inner, N] twice: 32 windows at a time
            rows = range(first, min(first + 32, windows))
            batch = torch.stack([validation[w * c: w * c + c + 1] for w in rows])
            logits = model(batch[:, :-1])
            targets = batch[:, 1:]
            total += F.cross_entropy(logits.double().reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="sum").item()
            positions += targets.numel()
    val_loss = total / positions
    print(json.dumps({"checkpoint": checkpoint, "data": text_path, "mamba_minimal": model_py,
                      "loaded": "load_state_dict(strict=True)", "parameters": count, "context": c,
                      "windows": windows, "positions": positions, "val_loss": val_loss, "bpc": val_loss / math.log(2),
                      "torch": torch.__version__}))


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2], sys.argv[3])
