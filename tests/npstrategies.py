"""Hypothesis strategies for numpy dtypes, shared by tests/test_numpy.py and
tests/test_zero_copy.py (pytest puts tests/ on sys.path): scalars of every byte
order, sub-arrays, and structured dtypes packed, aligned, with explicit offsets or
with every field at offset 0, nested up to a few levels."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

SCALAR_CODES = ["i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8", "f4", "f8", "?"]
ORDERS = ["", "<", ">", "="]


def scalar_dtypes():
    return st.builds(lambda order, code: np.dtype(order + code if code not in ("i1", "u1", "?") else code),
                     st.sampled_from(ORDERS), st.sampled_from(SCALAR_CODES))


def subarrays(inner):
    return st.builds(lambda d, shape: np.dtype((d, shape)), inner,
                     st.lists(st.integers(1, 3), min_size=1, max_size=2).map(tuple))


def structured(inner):
    names = st.lists(st.sampled_from("abcdefgh"), min_size=1, max_size=5, unique=True)

    @st.composite
    def build(draw):
        field_names = draw(names)
        formats = [draw(inner) for _ in field_names]
        how = draw(st.sampled_from(["packed", "aligned", "offsets", "union"]))
        if how in ("packed", "aligned"):
            return np.dtype(list(zip(field_names, formats)), align=how == "aligned")
        if how == "union":
            size = max(f.itemsize for f in formats) + draw(st.integers(0, 3))
            return np.dtype({"names": field_names, "formats": formats,
                             "offsets": [0] * len(formats), "itemsize": size})
        offsets, at = [], 0
        for f in formats:
            at += draw(st.integers(0, 4))
            offsets.append(at)
            at += f.itemsize
        return np.dtype({"names": field_names, "formats": formats, "offsets": offsets,
                         "itemsize": at + draw(st.integers(0, 5))})

    return build()


dtypes = st.recursive(scalar_dtypes(), lambda inner: st.one_of(subarrays(inner), structured(inner)),
                      max_leaves=8)
