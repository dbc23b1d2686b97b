"""Name legalization: every name that reaches a file name or Verilog goes through here.

A legal name is an ASCII Verilog identifier (`[A-Za-z][A-Za-z0-9_]*`), no Verilog-2005 or
SystemVerilog keyword, at most `MAX_LENGTH` characters. `verilog_name` maps any string to
one (characters outside `[A-Za-z0-9_]` become `_`; a name that starts with a digit or `_`,
or is empty, gets a `p` in front; a keyword gets a `_` behind; an over-long name is cut and
ends with a digest of the whole). Legal names map to themselves. Internal wires are named
`_n<N>` and table functions `_t<N>`: no legalized name starts with `_`, so none collides
with them.

`Namer` keeps names unique inside one scope (a module's ports, the files of one build):
a second name that legalizes to a taken one gets `_1`, `_2`, ... behind it.

`printable` escapes a name for the terminal (control and non-ASCII characters as `\\xNN`,
`\\uNNNN`), so that a hostile name cannot move the cursor or forge a second line.
"""

from __future__ import annotations

import hashlib
import re

MAX_LENGTH = 128  # well below the 255-byte file name limit, with room for ".json" and "tb_"

VERILOG_KEYWORDS = frozenset(
    ["always", "and", "assign", "automatic", "begin", "bit", "buf", "bufif0", "bufif1", "byte", "case", "casex", "casez", "cell", "chandle", "class", "clock", "cmos", "config", "const", "constraint", "context", "continue", "cover", "deassign", "default", "defparam", "design", "disable", "do", "edge", "else", "end", "endcase", "endclass", "endconfig", "endfunction", "endgenerate", "endinterface", "endmodule", "endpackage", "endprimitive", "endprogram", "endproperty", "endspecify", "endtable", "endtask", "enum", "event", "export", "extends", "extern", "final", "for", "force", "foreach", "forever", "fork", "function", "generate", "genvar", "highz0", "highz1", "if", "iff", "ifnone", "import", "incdir", "include", "initial", "inout", "input", "instance", "int", "integer", "interface", "join", "large", "liblist", "library", "local", "localparam", "logic", "longint", "macromodule", "medium", "module", "nand", "negedge", "new", "nmos", "nor", "not", "notif0", "notif1", "null", "or", "output", "package", "packed", "parameter", "pmos", "posedge", "primitive", "priority", "program", "property", "protected", "pull0", "pull1", "pulldown", "pullup", "pulsestyle_ondetect", "pulsestyle_onevent", "rand", "randc", "real", "realtime", "ref", "reg", "release", "repeat", "return", "rnmos", "rpmos", "rtran", "rtranif0", "rtranif1", "scalared", "sequence", "shortint", "shortreal", "showcancelled", "signed", "small", "specify", "specparam", "static", "string", "strong0", "strong1", "struct", "super", "supply0", "supply1", "table", "task", "this", "time", "timeprecision", "timeunit", "tran", "tranif0", "tranif1", "tri", "tri0", "tri1", "triand", "trior", "trireg", "type", "typedef", "union", "unique", "unsigned", "use", "uwire", "var", "vectored", "virtual", "void", "wait", "wand", "weak0", "weak1", "while", "wildcard", "wire", "with", "within", "wor", "xnor", "xor", "clk"]
)
"""Verilog-2005 and SystemVerilog keywords, and `clk` (the clock port's reserved name)."""

CLOCK = "clk"
"""The clock port's name in the RTL (reserved: no other name legalizes to it)."""

_ILLEGAL = re.compile(r"[^A-Za-z0-9_]")
_LEGAL = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")


def verilog_name(name: str) -> str:
    """A legal Verilog identifier for `name` (see the module docstring); legal names are kept."""
    s = _ILLEGAL.sub("_", name)
    if not s or s[0].isdigit() or s[0] == "_":
        s = "p" + s
    if len(s) > MAX_LENGTH:
        digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:12]
        s = f"{s[: MAX_LENGTH - 13]}_{digest}"
    return s + "_" if s in VERILOG_KEYWORDS else s


RESERVED_FILE_STEMS = frozenset({"report"})
"""Module names whose `<top>.json` would clash with another file of the build."""


def module_name(name: str) -> str:
    """The legalized top module name, which is also the stem of the build's file names."""
    s = verilog_name(name)
    return s + "_" if s in RESERVED_FILE_STEMS else s


def is_legal(name: str) -> bool:
    return bool(_LEGAL.match(name)) and len(name) <= MAX_LENGTH and name not in VERILOG_KEYWORDS


class Namer:
    """Legal names, unique within one scope."""

    def __init__(self, reserved: tuple[str, ...] = ()) -> None:
        self.taken: set[str] = set(reserved)

    def name(self, raw: str) -> str:
        base = verilog_name(raw)
        s, n = base, 0
        while s in self.taken:
            n += 1
            s = f"{base}_{n}"
        self.taken.add(s)
        return s


def printable(name: str) -> str:
    """`name` for the terminal: printable ASCII kept, everything else escaped."""
    out = []
    for ch in name:
        c = ord(ch)
        if 0x20 <= c < 0x7F and ch != "\\":
            out.append(ch)
        elif ch == "\\":
            out.append("\\\\")
        elif c < 0x100:
            out.append(f"\\x{c:02x}")
        elif c < 0x10000:
            out.append(f"\\u{c:04x}")
        else:
            out.append(f"\\U{c:08x}")
    return "".join(out)
