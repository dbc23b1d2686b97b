// RUN: hgq-opt %s --split-input-file --verify-diagnostics --parsing-diagnostics | filecheck %s

func.func @all_subtracted() {
  %0 = fx.input "inp"[0] : !fx.fixed<1, 2, 0>
  %1 = fx.add3 - %0 - %0 - %0 : !fx.fixed<1, 2, 0>, !fx.fixed<1, 2, 0>, !fx.fixed<1, 2, 0> -> !fx.fixed<1, 4, 0>
  func.return
}
// CHECK: fx.add3 negate mask 7: at least one operand must be added (0..6)

// -----

func.func @drops_bits() {
  %0 = fx.input "inp"[0] : !fx.fixed<1, 2, 3>
  %1 = fx.input "inp"[1] : !fx.fixed<1, 2, 0>
  %2 = fx.add3 %0 + %1 + %1 : !fx.fixed<1, 2, 3>, !fx.fixed<1, 2, 0>, !fx.fixed<1, 2, 0> -> !fx.fixed<1, 5, 0>
  func.return
}
// CHECK: fx.add3 result must keep every fractional bit: f = 3, got 0

// -----

func.func @bad_sign() {
  %0 = fx.input "inp"[0] : !fx.fixed<1, 2, 0>
  %1 = fx.add3 %0 * %0 + %0 : !fx.fixed<1, 2, 0>, !fx.fixed<1, 2, 0>, !fx.fixed<1, 2, 0> -> !fx.fixed<1, 4, 0>
  func.return
}
// CHECK: Expected '-'
