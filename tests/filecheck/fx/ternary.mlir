// RUN: hgq-opt %s -p fx-fuse-ternary | filecheck %s
// RUN: hgq-opt %s | filecheck %s --check-prefix=ROUND
// RUN: hgq-opt %s -p fx-fuse-ternary,lower-fx-to-hw | filecheck %s --check-prefix=HW
// RUN: hgq-opt %s -p 'fx-fuse-ternary,lower-fx-to-hw{ternary=off}' | filecheck %s --check-prefix=OFF

// c - (a - b) fuses into one ternary adder, the signs multiplied out.
// CHECK-LABEL: func.func @fuse
// CHECK-NEXT:    %a = fx.input "x"[0]
// CHECK-NEXT:    %b = fx.input "x"[1]
// CHECK-NEXT:    %c = fx.input "x"[2]
// CHECK-NEXT:    %t = fx.add3 %b + %c - %a {layer = "d"} : !fx.fixed<1, 3, 0>, !fx.fixed<1, 3, 0>, !fx.fixed<1, 3, 0> -> !fx.fixed<1, 5, 0>
// CHECK-NEXT:    fx.output "y"[0] %t
// An inner adder with two readers stays.
// CHECK-NEXT:    %u = fx.add %a, %b
// CHECK-NEXT:    %v = fx.add %u, %c
// CHECK-NEXT:    %w = fx.sub %u, %a
// An inner adder that wraps (its type cannot hold its operands' sum) stays.
// CHECK-NEXT:    %n = fx.add %a, %c
// CHECK-NEXT:    %z = fx.add %n, %b

// ROUND: fx.add3 - %a + %b - %c : !fx.fixed<1, 3, 0>, !fx.fixed<0, 2, 1>, !fx.fixed<1, 1, 2> -> !fx.fixed<1, 5, 2>

// The marked comb.add: the subtracted operand complemented, the count of subtracted operands as a constant.
// HW-LABEL: hw.module @fuse
// HW:         %[[NOT:.*]] = comb.xor %{{.*}}, %[[ONES:.*]] : i6
// HW:         %[[ONE:.*]] = hw.constant 1 : i6
// HW:         comb.add %{{.*}}, %{{.*}}, %[[NOT]], %[[ONE]] {hgq.ternary = "primitive", layer = "d"} : i6
// OFF-LABEL: hw.module @fuse
// OFF-NOT:     hgq.ternary
// OFF:         comb.add %{{.*}}, %{{.*}} {layer = "d"} : i6
// OFF-NEXT:    comb.sub %{{.*}}, %{{.*}} {layer = "d"} : i6

func.func @fuse() {
  %a = fx.input "x"[0] : !fx.fixed<1, 3, 0>
  %b = fx.input "x"[1] : !fx.fixed<1, 3, 0>
  %c = fx.input "x"[2] : !fx.fixed<1, 3, 0>
  %s = fx.sub %a, %b : !fx.fixed<1, 3, 0>, !fx.fixed<1, 3, 0> -> !fx.fixed<1, 4, 0>
  %t = fx.sub %c, %s {layer = "d"} : !fx.fixed<1, 3, 0>, !fx.fixed<1, 4, 0> -> !fx.fixed<1, 5, 0>
  fx.output "y"[0] %t : !fx.fixed<1, 5, 0>
  %u = fx.add %a, %b : !fx.fixed<1, 3, 0>, !fx.fixed<1, 3, 0> -> !fx.fixed<1, 4, 0>
  %v = fx.add %u, %c : !fx.fixed<1, 4, 0>, !fx.fixed<1, 3, 0> -> !fx.fixed<1, 5, 0>
  %w = fx.sub %u, %a : !fx.fixed<1, 4, 0>, !fx.fixed<1, 3, 0> -> !fx.fixed<1, 5, 0>
  %n = fx.add %a, %c : !fx.fixed<1, 3, 0>, !fx.fixed<1, 3, 0> -> !fx.fixed<1, 2, 0>
  %z = fx.add %n, %b : !fx.fixed<1, 2, 0>, !fx.fixed<1, 3, 0> -> !fx.fixed<1, 5, 0>
  fx.output "y"[1] %v : !fx.fixed<1, 5, 0>
  fx.output "y"[2] %w : !fx.fixed<1, 5, 0>
  fx.output "y"[3] %z : !fx.fixed<1, 5, 0>
  func.return
}

func.func @round() {
  %a = fx.input "x"[0] : !fx.fixed<1, 3, 0>
  %b = fx.input "x"[1] : !fx.fixed<0, 2, 1>
  %c = fx.input "x"[2] : !fx.fixed<1, 1, 2>
  %r = fx.add3 - %a + %b - %c : !fx.fixed<1, 3, 0>, !fx.fixed<0, 2, 1>, !fx.fixed<1, 1, 2> -> !fx.fixed<1, 5, 2>
  fx.output "z"[0] %r : !fx.fixed<1, 5, 2>
  func.return
}
