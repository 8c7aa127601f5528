"""Streaming (non-temporal) stores for the batch kernels' output columns.

The kernels write 14 float columns and 4 small ones per analysis: for a large batch that is
more data than the caches hold, and each line written is first read from memory (write
allocate) unless the store is non-temporal. The lane kernels collect a block's outputs in a
small buffer and copy each column out with :func:`stream_copy` (``nontemporal`` stores: no
read, no cache pollution), then :func:`store_fence` orders them before the results are read.

The intrinsics use only long-stable Numba / llvmlite APIs; if they do not compile here,
``STREAMING`` is False and plain stores are used (same results, a little slower).
"""

from __future__ import annotations

from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic


@intrinsic
def _nt_store(typingctx, arr, idx, val):
    """arr[idx] = val with a non-temporal store (a 1-D contiguous array, no bounds check)."""
    if not (isinstance(arr, types.Array) and arr.ndim == 1 and isinstance(idx, types.Integer)):
        return None
    sig = types.void(arr, idx, val)

    def codegen(context, builder, signature, args):
        from llvmlite import ir

        arrty, _, valty = signature.args
        ary = context.make_array(arrty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, arrty, ary, [args[1]],
                                       wraparound=False)
        value = context.cast(builder, args[2], valty, arrty.dtype)
        store = builder.store(value, ptr)
        store.set_metadata("nontemporal",
                           builder.module.add_metadata([ir.Constant(ir.IntType(32), 1)]))
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _fence(typingctx):
    """A full memory fence (orders the non-temporal stores before later loads and stores)."""
    sig = types.void()

    def codegen(context, builder, signature, args):
        builder.fence("seq_cst")
        return context.get_dummy_value()

    return sig, codegen


@njit(cache=True, error_model="numpy")
def _stream_copy_nt(dst, start, src, m):
    for i in range(m):
        _nt_store(dst, start + i, src[i])


def _probe() -> bool:
    try:
        import numpy as np

        dst = np.zeros(64)
        _stream_copy_nt(dst, 8, np.arange(16.0), 16)
        _probe_fence()
        return bool(dst[8 + 15] == 15.0 and dst[7] == 0.0)
    except Exception:  # noqa: BLE001 - any failure to compile: plain stores
        return False


@njit(cache=True)
def _probe_fence():
    _fence()


STREAMING = _probe()


@njit(cache=True, error_model="numpy")
def stream_copy(dst, start, src, m, stream):
    """dst[start : start + m] = src[:m], with non-temporal stores when ``stream`` (and
    STREAMING)."""
    if STREAMING and stream:
        _stream_copy_nt(dst, start, src, m)
    else:
        for i in range(m):
            dst[start + i] = src[i]


@njit(cache=True)
def store_fence(stream):
    """Order the streaming stores of this thread (a no-op without them)."""
    if STREAMING and stream:
        _fence()
