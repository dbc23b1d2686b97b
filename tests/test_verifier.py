"""`verify_ir` (one verdict per signature for hardware ops) says what xDSL's verifier says."""

import pytest
from xdsl.context import Context
from xdsl.dialects import builtin, comb, hw, seq
from xdsl.parser import Parser
from xdsl.utils.exceptions import DiagnosticException, VerifyException

from hgq_mlir.verifier import verify_ir

HEAD = """builtin.module {
  hw.module @m(in %a : i8, in %b : i8, out o : i8) {
"""


def _module(body: str) -> builtin.ModuleOp:
    ctx = Context()
    for d in (builtin.Builtin, hw.HW, comb.Comb, seq.Seq):
        ctx.load_dialect(d)
    return Parser(ctx, HEAD + body + "  }\n}\n").parse_module()


def _verdict(check, module) -> str | None:
    try:
        check(module)
    except (VerifyException, DiagnosticException, ValueError) as e:
        return type(e).__name__
    return None


# many ops of one signature, then the op under test
SAME = "".join(f"    %x{n} = comb.extract %a from 2 : (i8) -> i4\n" for n in range(5))
CASES = {
    "valid": SAME + "    %s = comb.add %a, %b : i8\n    hw.output %s : i8\n",
    # an extract past the input's top bit, after valid extracts of the same types
    "extract out of range": SAME + '    %e = "comb.extract"(%a) <{lowBit = 7 : i32}> : (i8) -> i4\n'
                                   "    hw.output %a : i8\n",
    # a concat whose result width is not the sum of its inputs'
    "concat width": SAME + '    %c = "comb.concat"(%x0, %x1) : (i4, i4) -> i7\n    hw.output %a : i8\n',
    # mixed operand types in a variadic op
    "add types": SAME + '    %t = "comb.add"(%a, %x0) : (i8, i4) -> i8\n    hw.output %a : i8\n',
    # the block ends in an op that is no terminator
    "no terminator": SAME + "    %s = comb.add %a, %b : i8\n",
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_verdict_is_xdsls(case):
    """The same verdict as `ModuleOp.verify()`; every invalid case is refused (the valid one
    is the negative control: the check can pass)."""
    module = _module(CASES[case])
    ours, theirs = _verdict(verify_ir, module), _verdict(lambda m: m.verify(), module)
    assert ours == theirs
    assert (ours is None) == (case == "valid")


def test_each_signature_is_verified_once(monkeypatch):
    """Ops of one signature share a verdict: xDSL verifies the first of them only."""
    module = _module(CASES["valid"])
    calls = []
    original = comb.ExtractOp.verify

    def counted(self, verify_nested_ops=True):
        calls.append(self)
        return original(self, verify_nested_ops)

    monkeypatch.setattr(comb.ExtractOp, "verify", counted)
    verify_ir(module)
    assert len(calls) == 1
