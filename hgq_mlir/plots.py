"""Plots of a compile (matplotlib, PNG) and a self-contained report.html.

- `resources.png`: per layer, estimated LUTs and FFs as stacked bars, with the LUTs that
  pruning saved (report.json's `luts_unpruned` − `luts`) hatched on top.
- `bitwidths.png`: per layer, the bits of every weight (a map over inputs × outputs;
  0 = pruned) and of every activation quantizer element (k + i + f): what HGQ learned.
- `tradeoff.png` (a latency sweep, `hgq-batch`): LUTs and FFs against latency in cycles.
- `pareto.png` (`hgq-batch`): a metric from the checkpoint names against LUTs, the
  Pareto front highlighted.

Figures are drawn with `matplotlib.figure.Figure` (no pyplot state, no display needed);
text is drawn literally (no mathtext), names with control characters escaped.
"""

from __future__ import annotations

import base64
import html
import os
import tempfile
from pathlib import Path

import numpy as np

from hgq_mlir.progress import printable

LUT_COLOR, FF_COLOR, SAVED_COLOR = "#3b6ea8", "#e08a2c", "#9aa5b1"


def _figure(width: float, height: float, layout: str | None = "constrained"):
    import matplotlib

    matplotlib.rcParams["text.parse_math"] = False  # a '$' in a layer name is just a '$'
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=110, layout=layout)


def _umask_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _save(fig, path: Path) -> Path:
    """Write the PNG atomically (a reader never sees half a file)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".png")
    os.close(fd)
    try:
        fig.savefig(tmp, format="png")
        os.chmod(tmp, _umask_mode())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return path


# -- data ---------------------------------------------------------------------------------


def bit_widths(module) -> dict[str, dict[str, np.ndarray]]:
    """Per layer of an `hgq` module (as imported): `weights`, the bits of each kernel entry
    as a 2-D array (sign + magnitude of its integer mantissa; 0 where the weight is zero),
    and `activations`, the width k + i + f of each element of the layer's quantizers.
    A weight's bits are its sign plus its significant bits, from the highest to the lowest
    set bit (the frontend keeps mantissa · 2^exponent with the trailing zeros in the exponent).
    Empty for IR below the hgq level."""
    from xdsl.dialects.builtin import StringAttr

    from hgq_mlir.dialects import hgq

    out: dict[str, dict[str, np.ndarray]] = {}
    for op in module.walk():
        name = op.attributes.get("layer")
        if not isinstance(name, StringAttr):
            continue
        entry = out.setdefault(name.data, {})
        if isinstance(op, hgq.DenseOp | hgq.ConvOp) and isinstance(op.weights.owner, hgq.ConstOp):
            mantissa, _ = op.weights.owner.values()
            m = np.abs(np.asarray(mantissa, dtype=np.int64))
            bits = np.where(m > 0, np.floor(np.log2(np.maximum(m, 1))).astype(np.int64) + 2, 0)
            entry["weights"] = bits.reshape(-1, bits.shape[-1]) if bits.ndim != 2 else bits
        elif isinstance(op, hgq.QuantizeOp):
            k, i, f = op.kif()
            widths = np.maximum(np.asarray(k) + np.asarray(i) + np.asarray(f), 0).ravel()
            entry["activations"] = np.concatenate([entry.get("activations", np.zeros(0, np.int64)), widths])
    return {n: e for n, e in out.items() if e}


# -- single compile -----------------------------------------------------------------------


def plot_resources(report: dict, path: Path) -> Path:
    """Stacked bars per layer: LUTs, FFs, and the LUTs pruning saved (hatched)."""
    layers = report.get("layers", {})
    names = [printable(n) for n in layers]
    luts = np.array([d.get("luts", 0) for d in layers.values()], dtype=float)
    ffs = np.array([d.get("ffs", 0) for d in layers.values()], dtype=float)
    saved = np.array([max(d.get("luts_unpruned", d.get("luts", 0)) - d.get("luts", 0), 0) for d in layers.values()],
                     dtype=float)
    fig = _figure(max(5.0, 0.7 * len(names) + 2.5), 4.2)
    ax = fig.add_subplot()
    x = np.arange(len(names))
    ax.bar(x, luts, color=LUT_COLOR, label="LUTs (estimated)")
    ax.bar(x, ffs, bottom=luts, color=FF_COLOR, label="FFs (estimated)")
    if saved.any():
        ax.bar(x, saved, bottom=luts + ffs, color="white", edgecolor=SAVED_COLOR, hatch="///",
               linewidth=np.where(saved > 0, 1.0, 0.0), label="LUTs saved by pruning")
    for xi, total, height in zip(x, luts + ffs, luts + ffs + saved, strict=True):
        ax.annotate(f"{int(total):,}", (xi, height), ha="center", va="bottom", fontsize=8,
                    xytext=(0, 2), textcoords="offset points")
    ax.set_xticks(x, names, rotation=30 if len(names) > 4 else 0, ha="right" if len(names) > 4 else "center")
    ax.set_ylabel("cells")
    srl = f", {report['srls']} SRL16E" if report.get("srls") else ""
    # what pruning saved is known only when the unpruned model was lowered too (baseline=true)
    saved_line = (f"pruning saved {report['luts_unpruned'] - report['luts']:,} LUTs "
                  if "luts_unpruned" in report else "")
    ax.set_title(f"{printable(report['top'])}: {report['luts']:,} LUTs, {report['ffs']:,} FFs{srl}, "
                 f"latency {report['latency']} cycles\n{saved_line}(bar labels: LUTs + FFs)", fontsize=10)
    ax.legend(fontsize=8, loc="upper right")
    ax.set_ylim(0, max(float((luts + ffs + saved).max(initial=0)), 1.0) * 1.18)
    return _save(fig, path)


def plot_bit_widths(widths: dict[str, dict[str, np.ndarray]], path: Path) -> Path:
    """Per layer: a map of weight bits (inputs × outputs) and the activation bits per element."""
    from matplotlib.colors import BoundaryNorm, ListedColormap

    names = list(widths)
    top = max([int(e[k].max()) for e in widths.values() for k in e if e[k].size] + [1])
    colors = ["#f0f0f0"] + [tuple(c) for c in _viridis(top)]  # 0 bits: light grey
    cmap = ListedColormap(colors)
    norm = BoundaryNorm(np.arange(-0.5, top + 1.5), cmap.N)
    # Fixed margins (in inches) instead of a layout engine: the rows are alike, and the
    # constrained layout would take most of a compile's plotting time.
    height = 1.4 + 1.9 * len(names)
    fig = _figure(9.0, height, layout=None)
    grid = fig.add_gridspec(len(names), 2, width_ratios=(3, 2), left=0.07, right=0.98, wspace=0.22,
                            top=1 - 0.6 / height, bottom=1.2 / height, hspace=0.75)
    image = None
    for row, name in enumerate(names):
        e = widths[name]
        label = printable(name)
        ax = fig.add_subplot(grid[row, 0])
        if "weights" in e:
            w = e["weights"]
            image = ax.imshow(w.T, aspect="auto", cmap=cmap, norm=norm, interpolation="nearest")
            zero = 100.0 * (w == 0).mean()
            mean = w[w > 0].mean() if (w > 0).any() else 0.0
            ax.set_title(f"{label}: weights {w.shape[0]}×{w.shape[1]}, {zero:.0f} % zero, "
                         f"mean {mean:.1f} bits when nonzero", fontsize=9)
            ax.set_xlabel("input", fontsize=8)
            ax.set_ylabel("output", fontsize=8)
        else:
            ax.set_title(f"{label}: no weights", fontsize=9)
            ax.axis("off")
        ax.tick_params(labelsize=7)
        ax = fig.add_subplot(grid[row, 1])
        if "activations" in e:
            a = e["activations"]
            ax.bar(np.arange(a.size), a, width=1.0, color=[colors[min(int(v), top)] for v in a], edgecolor="none")
            ax.set_xlim(-0.5, a.size - 0.5)
            ax.set_ylim(0, top + 0.5)
            ax.set_title(f"{label}: activations, mean {a.mean():.1f} bits, {int((a == 0).sum())}/{a.size} zero",
                         fontsize=9)
            ax.set_xlabel("element", fontsize=8)
            ax.set_ylabel("bits", fontsize=8)
        else:
            ax.axis("off")
        ax.tick_params(labelsize=7)
    if image is not None:
        cax = fig.add_axes((0.25, 0.45 / height, 0.5, 0.1 / height))
        bar = fig.colorbar(image, cax=cax, ticks=range(top + 1), orientation="horizontal")
        bar.set_label("bits (0 = pruned)", fontsize=8)
        bar.ax.tick_params(labelsize=7)
    fig.suptitle("Bit widths HGQ learned. Weights: sign + significant bits (highest to lowest set bit); "
                 "activations: k + i + f", fontsize=10)
    return _save(fig, path)


def _viridis(n: int) -> np.ndarray:
    import matplotlib

    return matplotlib.colormaps["viridis"](np.linspace(0.1, 0.95, max(n, 1)))


def plot_tradeoff(points: list[dict], path: Path) -> Path:
    """LUTs and FFs against latency (cycles), one line per model; points carry
    model, cutoff, latency, luts, ffs."""
    fig = _figure(8.0, 3.8)
    ax_l, ax_f = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    models = list(dict.fromkeys(p["model"] for p in points))
    for m in models:
        pts = sorted((p for p in points if p["model"] == m), key=lambda p: p["latency"])
        lat = [p["latency"] for p in pts]
        ax_l.plot(lat, [p["luts"] for p in pts], marker="o", label=printable(m))
        ax_f.plot(lat, [p["ffs"] for p in pts], marker="s")
        for p in pts:
            ax_l.annotate(f"cutoff {p['cutoff']}", (p["latency"], p["luts"]), fontsize=7, xytext=(3, 3),
                          textcoords="offset points")
    for ax, what in ((ax_l, "LUTs (estimated)"), (ax_f, "FFs (estimated)")):
        ax.set_xlabel("latency (clock cycles)")
        ax.set_ylabel(what)
        ax.grid(alpha=0.3)
    ax_l.set_title("area vs latency: LUTs", fontsize=10)
    ax_f.set_title("area vs latency: flip-flops", fontsize=10)
    if len(models) <= 12:  # below the plots, where it hides no point
        fig.legend(*ax_l.get_legend_handles_labels(), loc="outside lower center", ncols=min(len(models), 3), fontsize=7)
    return _save(fig, path)


def pareto_front(xs: list[float], ys: list[float], higher_is_better: bool) -> list[int]:
    """Indices of the points no other point beats (fewer or equal x and a better or equal y,
    one strictly), sorted by x."""
    order = sorted(range(len(xs)), key=lambda i: (xs[i], -ys[i] if higher_is_better else ys[i]))
    front, best = [], None
    for i in order:
        y = ys[i] if higher_is_better else -ys[i]
        if best is None or y > best:
            front.append(i)
            best = y
    return front


def plot_pareto(rows: list[dict], metric: str, path: Path, higher_is_better: bool = True) -> Path:
    """`metric` (from the checkpoint names) against LUTs, one colour per latency cutoff,
    each cutoff's Pareto front drawn as a line."""
    fig = _figure(6.5, 4.5)
    ax = fig.add_subplot()
    cutoffs = sorted({r["cutoff"] for r in rows})
    for c, marker in zip(cutoffs, "o^sDvP*X" * len(cutoffs)):
        pts = [r for r in rows if r["cutoff"] == c]
        xs = [float(r["luts"]) for r in pts]
        ys = [float(r[metric]) for r in pts]
        label = "combinational" if c < 0 else f"latency-cutoff {c}"
        dots = ax.scatter(xs, ys, s=26, alpha=0.6, marker=marker, label=label)
        front = pareto_front(xs, ys, higher_is_better)
        ax.plot([xs[i] for i in front], [ys[i] for i in front], drawstyle="steps-post" if higher_is_better else "default",
                color=dots.get_facecolor()[0], lw=1.6, alpha=0.9)
        ax.scatter([xs[i] for i in front], [ys[i] for i in front], s=50, facecolors="none",
                   edgecolors=dots.get_facecolor()[0], linewidths=1.4)
    ax.set_xlabel("LUTs (estimated)")
    ax.set_ylabel(printable(metric))
    ax.set_title(f"{printable(metric)} vs LUTs; ringed and joined: the Pareto front", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


# -- report.html --------------------------------------------------------------------------


def _img(path: Path) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(Path(path).name)}" src="data:image/png;base64,{data}">'


def _table(header: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(printable(str(v)))}</td>" for v in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def write_html(report: dict, images: list[Path], path: Path) -> Path:
    """One self-contained page: the totals, the per-layer table and the plots (embedded)."""
    cols = ["luts", "ffs", "srls", "adders", "weights", "kept", "zero_bits", "zero_value", "luts_unpruned"]
    layers = [[name] + [d.get(c, "") for c in cols] for name, d in report.get("layers", {}).items()]
    totals = [[k, report[k]] for k in ("luts", "ffs", "srls", "dsps", "adders", "latency", "adder_levels",
                                       "luts_unpruned", "inputs_removed") if k in report]
    top = html.escape(printable(report["top"]))
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{top}: hgq-mlir report</title><style>"
        "body{font-family:sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse;margin:1em 0}"
        "td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}th{background:#eee}"
        "td:first-child{text-align:left}img{max-width:100%;display:block;margin:1em 0}"
        "</style></head><body>"
        f"<h1>{top}</h1><p>Estimated resources (report.json): LUTs and FFs from the calibrated rules, "
        "DSPs always 0; latency in clock cycles.</p>"
        + _table(["total", "value"], totals)
        + _table(["layer", *cols], layers)
        + "".join(_img(p) for p in images)
        + "</body></html>\n"
    )
    fd, tmp = tempfile.mkstemp(dir=Path(path).parent, prefix=".report.html.")
    with os.fdopen(fd, "w") as f:
        f.write(page)
    os.chmod(tmp, _umask_mode())
    os.replace(tmp, path)
    return Path(path)


def write_plots(out_dir: str | os.PathLike, report: dict, widths: dict | None = None) -> dict[str, Path]:
    """resources.png, bitwidths.png (when `widths` has layers) and report.html in out_dir;
    returns role -> path. Adds files only: nothing the RTL writer wrote is touched."""
    out = Path(out_dir)
    paths = {"resources_png": plot_resources(report, out / "resources.png")}
    if widths:
        paths["bitwidths_png"] = plot_bit_widths(widths, out / "bitwidths.png")
    paths["html"] = write_html(report, list(paths.values()), out / "report.html")
    return paths
