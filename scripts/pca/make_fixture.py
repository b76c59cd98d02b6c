"""Writes tests/fixtures/pca/reference.json: PCA of deterministic test matrices computed
with NumPy (an SVD of the centred data), the independent reference for tests/pca.rs.

Run with the reference Python: /work/main/.venv-ref/bin/python scripts/pca/make_fixture.py
(any Python with NumPy will do). The matrices are not stored: both sides build them from
the formula below, so the fixture stays small.

    x[i, j] = sum_r s[r] * sin(1.3 (r+1) i + r) * cos(0.7 (r+1) j + 0.5 r)
              + 0.1 * sin(7.1 i + 3.3 j + 0.01 i j),      s = [5, 3, 2, 1]

Conventions (the same as src/analysis/pca.rs): rows are points; centre on column means;
each component a unit vector whose entry of largest magnitude is positive; variances with
N - 1; explained_ratio = explained variance / total variance of all columns.
"""
import json
import os

import numpy as np

S = [5.0, 3.0, 2.0, 1.0]


def matrix(n, c):
    i = np.arange(n, dtype=np.float64)[:, None]
    j = np.arange(c, dtype=np.float64)[None, :]
    x = np.zeros((n, c))
    for r, s in enumerate(S):
        x += s * np.sin(1.3 * (r + 1) * i + r) * np.cos(0.7 * (r + 1) * j + 0.5 * r)
    x += 0.1 * np.sin(7.1 * i + 3.3 * j + 0.01 * i * j)
    return x


def pca(x, k):
    n = x.shape[0]
    mean = x.mean(axis=0)
    xc = x - mean
    _, s, vt = np.linalg.svd(xc, full_matrices=False)
    comps = vt[:k].copy()
    for v in comps:
        if v[np.argmax(np.abs(v))] < 0:
            v *= -1
    ev = (s[:k] ** 2) / (n - 1)
    total = (xc ** 2).sum() / (n - 1)
    return mean, comps, ev, total, s


cases = []
for name, n, c, k in [("small", 8, 5, 2), ("wide", 50, 768, 3), ("tall", 200, 20, 3)]:
    x = matrix(n, c)
    mean, comps, ev, total, s = pca(x, k)
    # The components must be well separated for the comparison to mean anything.
    assert all(s[r] / s[r + 1] > 1.05 for r in range(k)), (name, s[: k + 1])
    cases.append({
        "name": name, "n": n, "c": c, "k": k,
        "x00": x[0, 0], "x_last": x[-1, -1],
        "mean": mean.tolist(),
        "components": comps.tolist(),
        "explained_variance": ev.tolist(),
        "total_variance": total,
        "explained_ratio": (ev / total).tolist(),
        "projection_row0": ((x[0] - mean) @ comps.T).tolist(),
    })

out = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "fixtures", "pca", "reference.json")
with open(out, "w") as f:
    json.dump({"made_by": "scripts/pca/make_fixture.py", "numpy": np.__version__, "scales": S, "cases": cases}, f)
    f.write("\n")
print("wrote", os.path.normpath(out))
