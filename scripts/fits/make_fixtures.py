"""Independent reference for the least-squares fits of essay section 3 (tests/chapter3.rs).

Builds the cannonball data t = sqrt(2 h / g) for floors 1..10, 4 m apart (g = 9.81), and
solves each least-squares problem with numpy.linalg.lstsq (SVD based), writing
tests/fixtures/fits/cannonball.json. Run from the repository root:

    /work/main/.venv-ref/bin/python scripts/fits/make_fixtures.py
"""
import json
import math
import numpy as np

G = 9.81
FLOORS = 10
FLOOR_HEIGHT = 4.0

x = np.arange(1, FLOORS + 1, dtype=np.float64)
t = np.sqrt(2.0 * x * FLOOR_HEIGHT / G)

BASES = {
    "line": [np.ones_like(x), x],
    "quadratic": [np.ones_like(x), x, x ** 2],
    "bad": [np.ones_like(x), 1.0 / x, np.sin(x)],
}

out = {"g": G, "floors": FLOORS, "floor_height_m": FLOOR_HEIGHT, "x": x.tolist(), "t": t.tolist(), "fits": {}}
for name, cols in BASES.items():
    a = np.stack(cols, axis=1)
    coef, *_ = np.linalg.lstsq(a, t, rcond=None)
    rms = math.sqrt(float(np.mean((a @ coef - t) ** 2)))
    out["fits"][name] = {"coef": coef.tolist(), "rms": rms}

with open("tests/fixtures/fits/cannonball.json", "w") as f:
    json.dump(out, f, indent=2)
    f.write("\n")
print(json.dumps(out["fits"], indent=2))
