"""The interface manifest (`<top>.json`), built from the `hw.module`.

`lower-fx-to-hw` records, on the module, what the ports alone do not say, as a typed
attribute:

    hgq.interface = {latency = 2 : i64,
                     ports = {inp = array<i64: 0, 6, 1, 3,  1, 5, 1, 2, ...>, out = array<i64: ...>}}

`latency` is the number of clock cycles from input to output; `ports` gives, per data port
(input or output, by its name in the module), its elements in bit order from the LSB, four
integers each: the element's index in the flattened model tensor, its width, 1 if signed
(two's complement) else 0, and its fractional bits. Offsets follow from the widths.

The manifest's names are the legalized ones (`backend.names`), the same the Verilog uses:
`Interface.of(top)` is the one place that maps the module's names to them, for both.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from xdsl.dialects import hw, seq
from xdsl.dialects.builtin import DenseArrayBase, DictionaryAttr, IntegerAttr, IntegerType, i64

from hgq_mlir.backend.names import CLOCK, Namer, module_name, printable, verilog_name
from hgq_mlir.errors import UserError

KEY = "hgq.interface"
FIELDS = 4  # index, width, signed, frac


def interface_attr(latency: int, ports: dict[str, list[tuple[int, int, bool, int]]]) -> DictionaryAttr:
    """The typed `hgq.interface` attribute: latency and, per port, (index, width, signed, frac)."""
    return DictionaryAttr({
        "latency": IntegerAttr(latency, i64),
        "ports": DictionaryAttr({
            name: DenseArrayBase.from_list(i64, [int(x) for e in elems for x in e]) for name, elems in ports.items()
        }),
    })


@dataclass
class Port:
    raw: str  # the name in the IR
    name: str  # legalized
    width: int
    is_input: bool
    is_clock: bool = False
    elements: list[dict] = field(default_factory=list)

    def manifest(self) -> dict:
        return {"port": self.name, "width": self.width, "elements": self.elements}


@dataclass
class Interface:
    top: str  # legalized module name
    latency: int
    ports: list[Port]  # in module order

    @property
    def clock(self) -> Port | None:
        return next((p for p in self.ports if p.is_clock), None)

    def manifest(self) -> dict:
        return {
            "top": self.top,
            "latency": self.latency,
            "clock": None if self.clock is None else self.clock.name,
            "inputs": [p.manifest() for p in self.ports if p.is_input and not p.is_clock],
            "outputs": [p.manifest() for p in self.ports if not p.is_input],
        }

    @staticmethod
    def of(top: hw.HWModuleOp, need_layout: bool = True) -> Interface:
        raw_top = top.sym_name.data
        where = f"hw.module @{printable(raw_top)}"
        layout, latency = _layout(top, where) if need_layout or KEY in top.attributes else ({}, 0)
        namer = Namer()
        ports: list[Port] = []
        clocks = 0
        for p in top.module_type.ports.data:
            raw = p.port_name.data
            is_input = p.dir.data == hw.Direction.INPUT
            if p.type == seq.clock:
                if not is_input:
                    raise UserError(f"{where}: output port '{printable(raw)}' is a clock")
                clocks += 1
                if clocks > 1:
                    raise UserError(f"{where}: more than one clock port ('{printable(raw)}')")
                ports.append(Port(raw, CLOCK, 1, True, True))
                continue
            if not isinstance(p.type, IntegerType) or p.type.width.data < 1:
                raise UserError(f"{where}: port '{printable(raw)}' has type {p.type}: the Verilog target "
                                "takes integer ports of width >= 1 and one !seq.clock")
            port = Port(raw, namer.name(raw), p.type.width.data, is_input)
            if need_layout:
                if raw not in layout:
                    raise UserError(f"{where}: {KEY} has no layout for port '{printable(raw)}'")
                port.elements = _elements(layout.pop(raw), port, where)
            ports.append(port)
        if layout:
            raise UserError(f"{where}: {KEY} describes port '{printable(next(iter(layout)))}', which the module lacks")
        return Interface(module_name(raw_top), latency, ports)


def _layout(top: hw.HWModuleOp, where: str) -> tuple[dict[str, tuple[int, ...]], int]:
    attr = top.attributes.get(KEY)
    if attr is None:
        raise UserError(f"{where} has no {KEY} (the port layout that lower-fx-to-hw records)")
    if not isinstance(attr, DictionaryAttr):
        raise UserError(f"{where}: {KEY} must be a dictionary {{latency = N : i64, ports = {{...}}}}")
    lat, ports = attr.data.get("latency"), attr.data.get("ports")
    if not isinstance(lat, IntegerAttr) or lat.value.data < 0:
        raise UserError(f"{where}: {KEY} needs 'latency', an integer >= 0")
    if not isinstance(ports, DictionaryAttr):
        raise UserError(f"{where}: {KEY} needs 'ports', a dictionary of array<i64: ...>")
    layout = {}
    for name, a in ports.data.items():
        if not isinstance(a, DenseArrayBase) or not isinstance(a.get_element_type(), IntegerType):
            raise UserError(f"{where}: {KEY} port '{printable(name)}' must be an array<i64: ...>")
        layout[name] = tuple(a.get_values())
    return layout, lat.value.data


def _elements(values: tuple[int, ...], port: Port, where: str) -> list[dict]:
    what = f"{where}: {KEY} port '{printable(port.raw)}'"
    if len(values) % FIELDS:
        raise UserError(f"{what}: {len(values)} numbers, not a multiple of {FIELDS} (index, width, signed, frac)")
    out, offset, seen = [], 0, set()
    for n in range(0, len(values), FIELDS):
        index, width, signed, frac = values[n : n + FIELDS]
        if index < 0 or index in seen:
            raise UserError(f"{what}: element index {index} is negative or repeated")
        if width < 1 or signed not in (0, 1):
            raise UserError(f"{what}: element {index} needs width >= 1 and signed 0 or 1")
        seen.add(index)
        out.append({"index": index, "offset": offset, "width": width, "signed": bool(signed), "frac": frac})
        offset += width
    if offset != port.width:
        raise UserError(f"{what}: elements span {offset} bits, the port has {port.width}")
    return out


def manifest_text(interface: Interface) -> str:
    return json.dumps(interface.manifest(), indent=1) + "\n"


def load_manifest(path: Path) -> dict:
    """A `<top>.json` written by this tool, checked field by field (one-line UserError)."""
    what = printable(str(path))
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise UserError(f"{what}: not a readable JSON manifest ({type(e).__name__}: {_first_line(e)})") from None

    def need(cond: bool, msg: str) -> None:
        if not cond:
            raise UserError(f"{what}: {msg}")

    def is_int(x) -> bool:
        return isinstance(x, int) and not isinstance(x, bool)

    need(isinstance(data, dict), "the manifest must be a JSON object")
    need(isinstance(data.get("top"), str) and module_name(data["top"]) == data["top"], "'top' must be a legal Verilog name")
    need(is_int(data.get("latency")) and data["latency"] >= 0, "'latency' must be an integer >= 0")
    need(data.get("clock") in (None, CLOCK), f"'clock' must be null or \"{CLOCK}\"")
    need((data["clock"] is None) == (data["latency"] == 0), "'clock' must be set exactly when 'latency' > 0")
    names = set()
    for side in ("inputs", "outputs"):
        need(isinstance(data.get(side), list), f"'{side}' must be a list")
        for p in data[side]:
            need(isinstance(p, dict) and isinstance(p.get("port"), str) and verilog_name(p["port"]) == p["port"]
                 and p["port"] not in names, f"'{side}': every port needs a unique, legal 'port' name")
            names.add(p["port"])
            need(is_int(p.get("width")) and p["width"] >= 1 and isinstance(p.get("elements"), list),
                 f"port '{p['port']}': needs 'width' >= 1 and 'elements'")
            offset = 0
            for e in p["elements"]:
                need(isinstance(e, dict) and all(is_int(e.get(k)) for k in ("index", "offset", "width", "frac"))
                     and isinstance(e.get("signed"), bool) and e["offset"] == offset and e["width"] >= 1
                     and e["index"] >= 0, f"port '{p['port']}': malformed element {printable(str(e))[:80]}")
                offset += e["width"]
            need(offset == p["width"], f"port '{p['port']}': elements span {offset} bits, 'width' says {p['width']}")
    return data


def _first_line(e: BaseException) -> str:
    lines = str(e).strip().splitlines()
    return printable(lines[0]) if lines else ""
