"""Writes ``encoder_output_scales.json``: output scales of the reference's numerical encoders.

Runs in the reference's own environment (Python 3.11, torch, ``plurel`` 1.1.0), not in the
test suite::

    REFENV/bin/python tests/data/reference/make_encoder_output_scales.py

Each encoder is what the reference builds for a numerical input (an SCM edge out of a
numerical node, or a parent table's numerical column): ``plurel.transforms.MLP`` with the
default ``SCMParams()``, ``in_dim = 1`` and hidden and output width ``mlp_emb_dim = 32``.
Every encoder is evaluated on two fixed inputs of 1,000 rows: ``unit`` = U(0, 1) and
``wide`` = 30 · N(0, 1) (the scale of raw source values, where activations saturate).

Per encoder and input: ``scale`` = the mean over its varying outputs of log10 of the
output's standard deviation over the rows (float64 arithmetic on the float32 outputs;
None when no output varies) and ``constant_outputs`` = how many of the 32 outputs are
the same on every row.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import torch
from plurel.config import SCMParams
from plurel.transforms import MLP

ENCODERS = 3000
ROWS = 1000
SEED = 0


def inputs() -> dict[str, np.ndarray]:
    """The two inputs, float32 (ROWS, 1); the fidelity test makes the same ones."""
    rng = np.random.default_rng(SEED)
    unit = rng.uniform(0.0, 1.0, (ROWS, 1)).astype(np.float32)
    wide = (30.0 * rng.standard_normal((ROWS, 1))).astype(np.float32)
    return {"unit": unit, "wide": wide}


def describe(out: np.ndarray) -> tuple[float | None, int]:
    """(scale, constant_outputs) of one encoder's float32 (ROWS, 32) output."""
    varying = np.ptp(out, axis=0) > 0
    if not varying.any():
        return None, int(out.shape[1])
    std = out[:, varying].astype(np.float64).std(axis=0)
    return float(np.mean(np.log10(std))), int((~varying).sum())


def main() -> None:
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    params = SCMParams()
    xs = {name: torch.from_numpy(x) for name, x in inputs().items()}
    result: dict[str, dict[str, list]] = {name: {"scale": [], "constant_outputs": []} for name in xs}
    for _ in range(ENCODERS):
        encoder = MLP(scm_params=params, in_dim=params.mlp_in_dim, hid_dim=params.mlp_emb_dim,
                      out_dim=params.mlp_emb_dim)  # fmt: skip
        with torch.no_grad():
            for name, x in xs.items():
                scale, constant = describe(encoder(x).numpy())
                ok = scale is not None and math.isfinite(scale)
                result[name]["scale"].append(round(scale, 5) if ok else None)
                result[name]["constant_outputs"].append(constant)
    meta = {
        "reference": "plurel 1.1.0 (snap-stanford/plurel at bac4ccd)",
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "encoders": ENCODERS,
        "rows": ROWS,
        "seed": SEED,
    }
    path = Path(__file__).with_name("encoder_output_scales.json")
    path.write_text(json.dumps({"meta": meta, **result}) + "\n")


if __name__ == "__main__":
    main()
