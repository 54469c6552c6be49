"""A FAISS file-format validator for the index files the vector store writes (no faiss needed).

faiss's memory-mapped reader trusts the sizes in the file; :func:`check_layout`
walks the file first, so a truncated or edited file is refused with a
``StoreError`` instead of crashing the process.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt

from .spec import StoreError


class _Layout:
    """Walks the FAISS serialisation of the index types this store writes, without faiss.

    faiss's memory-mapped reader (``IO_FLAG_MMAP_IFC``) does not bounds-check a
    truncated file and segfaults (faiss 1.15.1), so a file is checked here, reading only
    headers and size fields, before faiss sees it.  The format is faiss's
    ``index_write.cpp``: fourcc, index header, then per-type fields.
    """

    def __init__(self, handle: BinaryIO, size: int) -> None:
        self._handle = handle
        self._size = size

    def _read(self, fmt: str) -> tuple[int, ...]:
        width = struct.calcsize(fmt)
        raw = self._handle.read(width)
        if len(raw) != width:
            raise StoreError("the file ends in the middle of the index")
        return struct.unpack(fmt, raw)

    def _one(self, fmt: str) -> int:
        return int(self._read(fmt)[0])

    def _skip(self, count: int, width: int) -> int:
        """Skip ``count`` items of ``width`` bytes; return the offset where they start."""
        start = self._handle.tell()
        if count < 0 or start + count * width > self._size:
            raise StoreError("the file is shorter than the sizes it declares")
        self._handle.seek(start + count * width)
        return start

    def _vector(self, width: int, expected: int | None = None, what: str = "array") -> tuple[int, int]:
        """A faiss WRITEVECTOR: uint64 count then the items; returns (count, data offset)."""
        count = self._one("<Q")
        if expected is not None and count != expected:
            raise StoreError(f"its {what} has {count} entries instead of {expected}")
        return count, self._skip(count, width)

    def _header(self) -> tuple[int, int, int]:
        d, ntotal, _, _, trained, metric = self._read("<iqqqbi")
        if metric > 1:
            self._read("<f")
        if d < 1 or ntotal < 0 or trained not in (0, 1):
            raise StoreError("its index header is invalid")
        return d, ntotal, metric

    def _array(self, offset: int, dtype: str, count: int) -> npt.NDArray[Any]:
        """A read-only, file-backed view of ``count`` items at ``offset`` (no copy into RAM)."""
        if count == 0:
            return np.zeros(0, dtype=dtype)
        position = self._handle.tell()  # np.memmap moves the file position
        view = np.memmap(self._handle, dtype=dtype, mode="r", offset=offset, shape=(count,))
        self._handle.seek(position)
        return view

    def _fourcc(self) -> bytes:
        raw = self._handle.read(4)
        if len(raw) != 4:
            raise StoreError("the file ends in the middle of the index")
        return raw

    def _flat(self, d: int, ntotal: int) -> None:
        # WRITEXBVECTOR: the count is in float32 units (bytes / 4).
        self._vector(4, ntotal * d, "vector storage")

    def index(self) -> tuple[bytes, int, int]:
        """Check one (possibly nested) index; returns (fourcc, ntotal, dim)."""
        fourcc = self._fourcc()
        if fourcc in (b"IxFI", b"IxF2", b"IxFl"):
            d, ntotal, _ = self._header()
            self._flat(d, ntotal)
        elif fourcc == b"IwFl":
            d, ntotal, _ = self._header()
            nlist, nprobe = self._read("<QQ")
            if not 1 <= nprobe <= nlist:
                raise StoreError("its IVF nprobe/nlist are invalid")
            inner, inner_n, inner_d = self.index()
            if inner not in (b"IxFI", b"IxF2", b"IxFl") or (inner_n, inner_d) != (nlist, d):
                raise StoreError("its IVF quantizer does not match the lists")
            map_type = self._one("<b")
            if map_type not in (0, 1):
                raise StoreError("its IVF direct map type is unsupported")
            _, map_at = self._vector(8, ntotal if map_type == 1 else 0, "direct map")
            lists = self._fourcc()
            if lists != b"ilar":
                raise StoreError("its IVF inverted lists are not stored inline")
            stored_nlist, code_size = self._read("<QQ")
            if stored_nlist != nlist or code_size != 4 * d:
                raise StoreError("its IVF inverted lists do not match the index")
            kind = self._fourcc()
            count, at = self._vector(8, None, "list sizes")
            if count > 2 * nlist:
                raise StoreError("its IVF list sizes are invalid")
            end = self._handle.tell()
            self._handle.seek(at)
            sizes = np.frombuffer(self._handle.read(8 * count), dtype="<u8")
            self._handle.seek(end)
            if kind == b"full" and count == nlist:
                total = int(sizes.sum(dtype=np.uint64))
            elif kind == b"sprs" and count % 2 == 0:
                total = int(sizes[1::2].sum(dtype=np.uint64))
            else:
                raise StoreError("its IVF list sizes are invalid")
            if total != ntotal:
                raise StoreError("its IVF lists do not hold ntotal vectors")
            self._skip(total, code_size + 8)
            if map_type == 1 and ntotal:
                # Direct map entries are (list << 32 | offset); reconstruct() trusts them.
                entries = self._array(map_at, "<i8", ntotal)
                list_no, offset = entries >> 32, entries & 0xFFFFFFFF
                if kind == b"full":
                    per_list = sizes.astype(np.int64)
                else:
                    per_list = np.zeros(nlist, dtype=np.int64)
                    per_list[sizes[0::2].astype(np.int64)] = sizes[1::2].astype(np.int64)
                if list_no.min() < 0 or list_no.max() >= nlist or np.any(offset >= per_list[list_no]):
                    raise StoreError("its IVF direct map points outside the lists")
        else:
            raise StoreError(f"it holds an unsupported index type {fourcc!r}")
        return fourcc, ntotal, d


def check_layout(path: Path) -> None:
    """Raise ``StoreError`` unless ``path`` is a complete Flat or IVFFlat FAISS file."""
    try:
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            _Layout(handle, size).index()
            if handle.tell() != size:
                raise StoreError("it has trailing bytes after the index")
    except StoreError as exc:
        raise StoreError(f"Vector index file {path} is corrupt or truncated: {exc}.") from None
    except (OSError, struct.error, ValueError, OverflowError) as exc:
        raise StoreError(f"Vector index file {path} is unreadable ({exc}).") from exc
