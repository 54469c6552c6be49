"""Facts about the machine, recorded beside every benchmark figure."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def machine_facts() -> dict[str, object]:
    cpu = "unknown"
    flags: list[str] = []
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and cpu == "unknown":
                cpu = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and not flags:
                # the vector instructions that decide encoder speed (int8 gains most with VNNI)
                wanted = ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_int8")
                present = set(line.split(":", 1)[1].split())
                flags = [f for f in wanted if f in present]
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "cpu_flags": flags,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average": os.getloadavg(),
    }
