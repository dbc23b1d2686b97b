"""The IR verifier of `hgq-opt`: xDSL's `Operation.verify`, with one verdict per signature
for the hardware ops.

A lowered large layer holds a million `comb` / `hw` ops, and xDSL's generic IRDL verifier
costs about 20 µs each. The verifiers of these ops (IRDL's operand, result, property and
attribute constraints and their own `verify_`) read nothing but the op's class, operand
and result types, properties and attributes, so ops that agree on all of these share one
verdict: the first of them is verified by xDSL, the others only for what is their own (no
erased operand, their parent block). Every other op, and the last op of each block (the
terminator rule reads the block), is verified by xDSL as it is.
"""

from __future__ import annotations

from xdsl.dialects import comb, hw, seq
from xdsl.ir import Attribute, ErasedSSAValue, Operation

# op classes whose verifiers read only the op's signature (see the module docstring)
SIGNATURE_VERIFIED: frozenset[type[Operation]] = frozenset(
    (*comb.Comb.operations, hw.ConstantOp, hw.ArrayGetOp, hw.ArrayCreateOp, seq.CompRegOp)
)


class _Signatures:
    """What an op's verifier reads, as a hashable key. An attribute enters by the identity
    of the first equal attribute seen (each attribute object is hashed once: a type is
    shared by a value's producer and all its readers)."""

    def __init__(self) -> None:
        self.by_id: dict[int, int] = {}
        self.by_value: dict[Attribute, int] = {}

    def canonical(self, attr: Attribute) -> int:
        key = self.by_id.get(id(attr))
        if key is None:
            key = self.by_id[id(attr)] = self.by_value.setdefault(attr, id(attr))
        return key

    def of(self, op: Operation) -> tuple | None:
        """`op`'s key; None where an operand is erased (xDSL's verifier then says so) or an
        attribute is not hashable."""
        try:
            return self._of(op)
        except TypeError:
            return None

    def _of(self, op: Operation) -> tuple | None:
        canonical = self.canonical
        key: list = [type(op)]
        for operand in op._operands:
            if isinstance(operand, ErasedSSAValue):
                return None
            key.append(canonical(operand.type))
        key.append(None)
        key.extend(canonical(r.type) for r in op.results)
        for name, attr in op.properties.items():
            key += (name, canonical(attr))
        key.append(None)
        for name, attr in op.attributes.items():
            key += (name, canonical(attr))
        return tuple(key)


def verify_ir(op: Operation) -> None:
    """Verify `op` and everything nested in it, as `op.verify()` does."""
    op.verify(verify_nested_ops=False)
    verified: set[tuple] = set()
    signatures = _Signatures()
    stack = [op]
    while stack:
        for region in stack.pop().regions:
            for block in region.blocks:
                if block.parent is not region:
                    raise ValueError("Parent pointer of block does not refer to containing region")
                last = block.last_op
                if last is None:
                    block.verify()  # the empty-block rule
                    continue
                for inner in block.ops:
                    if inner.parent is not block:
                        raise ValueError("Parent pointer of operation does not refer to containing region")
                    if type(inner) in SIGNATURE_VERIFIED and inner is not last and not inner.regions:
                        key = signatures.of(inner)
                        if key is not None:
                            if key not in verified:
                                inner.verify()
                                verified.add(key)
                            continue
                    inner.verify(verify_nested_ops=False)
                    if inner.regions:
                        stack.append(inner)
