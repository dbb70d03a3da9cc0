"""What every benchmarks report module reads from a results file: a method's row, the device and clock a run was
timed on, the CPU in words, a ratio's median with its quartiles (``fmt_iqr``, ``quartiles``) and the legend of a
table of ratios. ``benchmarks.report`` re-exports the public ones."""
from __future__ import annotations

from spectral_collapse.pipeline.cost_pages import quartile_range

__all__ = ["method_row", "QUARTILES", "nobreak", "fmt_iqr", "cpu_words", "device_name", "clock_of", "clock_word",
           "quartiles", "legend"]


def method_row(inv: dict, label: str) -> dict | None:
    """The inversion benchmark's row of one method (e.g. "ddim", timed against itself), or None."""
    return next((r for r in inv.get("rows", []) if r["label"] == label), None)


QUARTILES = "median (quartiles)"   # a table column's header words for cells written by ``fmt_iqr``


def nobreak(text: str) -> str:
    """``text`` that a table cell keeps on one line: no-break spaces and non-breaking hyphens."""
    return str(text).replace(" ", "\u00a0").replace("-", "\u2011")


def fmt_iqr(st: dict | None, digits: int = 2) -> str:
    """'2.81 (2.75–2.90)': a ratio statistic as a table cell under a header saying "median (quartiles)"
    (``QUARTILES``), on one line."""
    if not st or st.get("median") is None:
        return "n/a"
    m, a, b = st["median"], st.get("q25"), st.get("q75")
    if a is None or b is None or st.get("n", 1) < 2:
        return f"{m:.{digits}f}"
    return nobreak(f"{m:.{digits}f} ({quartile_range(a, b, digits, cell=True)})")


def cpu_words(machine: dict) -> str:
    """The CPU's model name without trademark marks ("Intel(R) Xeon(R) Processor" -> "Intel Xeon")."""
    words = str(machine.get("cpu", "")).replace("(R)", "").replace("(TM)", "").split()
    return " ".join(w for w in words if w not in ("Processor", "CPU")) or "unnamed"


def device_name(res: dict) -> str:
    """Where a run's inversion ratios were measured, in words: "one NVIDIA H100 80GB HBM3" on a GPU run,
    "1 thread of an Intel Xeon CPU" on a CPU run."""
    m = res.get("machine") or {}
    if str(m.get("device", "cpu")).startswith("cuda"):
        return f"one {m.get('gpu') or 'GPU'}"
    n = m.get("torch_threads")
    cpu = cpu_words(m)
    art = "an" if cpu[:1].lower() in "aeiou" else "a"
    return f"{n} thread{'s' if n and n > 1 else ''} of {art} {cpu} CPU" if n else f"{art} {cpu} CPU"


def clock_of(res: dict) -> str:
    """The ratio a run is read by: "ratio_wall" on a GPU (synchronised wall time), "ratio_cpu" on a CPU."""
    inv = (res.get("benchmarks") or {}).get("inversion") or {}
    if inv.get("clock"):
        return inv["clock"]
    return "ratio_wall" if str((res.get("machine") or {}).get("device", "cpu")).startswith("cuda") else "ratio_cpu"


def clock_word(clock: str) -> str:
    return "wall time" if clock == "ratio_wall" else "CPU time"


def quartiles(st: dict | None) -> tuple[float | None, float | None]:
    if not st or st.get("n", 1) < 2:
        return None, None
    return st.get("q25"), st.get("q75")


def legend(pairs) -> str:
    """'Rows: *a*: what a is; *b*: ...' for (short label, long label) pairs whose labels differ."""
    parts = [f"*{a}*: {b}" for a, b in pairs if b and b != a]
    return ("Rows: " + "; ".join(parts) + ".") if parts else ""
