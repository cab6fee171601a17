"""Run by cibuildwheel after installing a wheel: does the compiled kernel load and agree
with NumPy? ``--allow-numpy``: where the platform may have no kernel (Windows/MSVC), only
check that lstmkit imports and runs on NumPy."""

import os
import sys

import numpy as np

import lstmkit
from lstmkit.core import gates, lstm

# the installed package, not a source tree that happens to be on the path
assert "site-packages" in lstmkit.__file__, lstmkit.__file__

allow_numpy = "--allow-numpy" in sys.argv
if not gates.extension_available():
    if not allow_numpy:
        sys.exit("the wheel's compiled kernel did not load")
    print("no compiled kernel on this platform: lstmkit runs on NumPy")
rng = np.random.default_rng(0)
x = rng.standard_normal((6, 4, 8)).astype(np.float32)  # (T, B, D)
W_x = (rng.standard_normal((8, 128)) * 0.3).astype(np.float32)
W_h = (rng.standard_normal((32, 128)) * 0.3).astype(np.float32)
b = np.zeros(128, np.float32)
fast = lstm.lstm_forward(x, W_x, W_h, b, need_cache=False)[0]
os.environ["LSTMKIT_NO_EXT"] = "1"
slow = lstm.lstm_forward(x, W_x, W_h, b, need_cache=False)[0]
err = float(abs(fast - slow).max())
assert err < 1e-5, err
print(
    f"installed lstmkit ok: kernel {'compiled' if gates.extension_available() else 'numpy'}, "
    f"|compiled − numpy| = {err:.1e}"
)
