// RUN: hgq-opt %s | hgq-opt | filecheck %s
// RUN: hgq-opt %s --print-op-generic | hgq-opt | filecheck %s

func.func @all_ops() {
  %0 = fx.input "inp"[0] : !fx.fixed<1, 2, 3>
  %1 = fx.input "inp"[1] : !fx.fixed<0, 3, 1>
  %2 = fx.const -5 : !fx.fixed<1, 2, 1>
  %3 = fx.add %0, %1 : !fx.fixed<1, 2, 3>, !fx.fixed<0, 3, 1> -> !fx.fixed<1, 4, 3>
  %4 = fx.sub %3, %2 : !fx.fixed<1, 4, 3>, !fx.fixed<1, 2, 1> -> !fx.fixed<1, 5, 3>
  %5 = fx.shift %4 by -2 : !fx.fixed<1, 5, 3> -> !fx.fixed<1, 3, 5>
  %6 = fx.neg %0 : !fx.fixed<1, 2, 3> -> !fx.fixed<1, 3, 3>
  %7 = fx.relu %6 : !fx.fixed<1, 3, 3> -> !fx.fixed<0, 3, 3>
  %8 = fx.max %7, %0 : !fx.fixed<0, 3, 3>, !fx.fixed<1, 2, 3> -> !fx.fixed<1, 3, 3>
  %9 = fx.quantize %5 RND_CONV SAT_SYM : !fx.fixed<1, 3, 5> -> !fx.fixed<1, 1, 2>
  %10 = fx.reg %9 stage 1 : !fx.fixed<1, 1, 2>
  fx.output "out"[0] %10 : !fx.fixed<1, 1, 2>
  fx.output "out"[1] %8 : !fx.fixed<1, 3, 3>
  func.return
}

// CHECK:      %0 = fx.input "inp"[0] : !fx.fixed<1, 2, 3>
// CHECK-NEXT: %1 = fx.input "inp"[1] : !fx.fixed<0, 3, 1>
// CHECK-NEXT: %2 = fx.const -5 : !fx.fixed<1, 2, 1>
// CHECK-NEXT: %3 = fx.add %0, %1 : !fx.fixed<1, 2, 3>, !fx.fixed<0, 3, 1> -> !fx.fixed<1, 4, 3>
// CHECK-NEXT: %4 = fx.sub %3, %2 : !fx.fixed<1, 4, 3>, !fx.fixed<1, 2, 1> -> !fx.fixed<1, 5, 3>
// CHECK-NEXT: %5 = fx.shift %4 by -2 : !fx.fixed<1, 5, 3> -> !fx.fixed<1, 3, 5>
// CHECK-NEXT: %6 = fx.neg %0 : !fx.fixed<1, 2, 3> -> !fx.fixed<1, 3, 3>
// CHECK-NEXT: %7 = fx.relu %6 : !fx.fixed<1, 3, 3> -> !fx.fixed<0, 3, 3>
// CHECK-NEXT: %8 = fx.max %7, %0 : !fx.fixed<0, 3, 3>, !fx.fixed<1, 2, 3> -> !fx.fixed<1, 3, 3>
// CHECK-NEXT: %9 = fx.quantize %5 RND_CONV SAT_SYM : !fx.fixed<1, 3, 5> -> !fx.fixed<1, 1, 2>
// CHECK-NEXT: %10 = fx.reg %9 stage 1 : !fx.fixed<1, 1, 2>
// CHECK-NEXT: fx.output "out"[0] %10 : !fx.fixed<1, 1, 2>
// CHECK-NEXT: fx.output "out"[1] %8 : !fx.fixed<1, 3, 3>
