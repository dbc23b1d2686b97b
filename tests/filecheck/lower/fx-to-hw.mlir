// RUN: hgq-opt %s -p lower-fx-to-hw | filecheck %s

// Alignment is wiring: both operands are sign-extended (replicate the MSB) to the sum's
// width, x1 shifted left one bit in the same concat (a zero below it).
func.func @f() {
  %0 = fx.input "inp"[0] : !fx.fixed<1, 2, 2>
  %1 = fx.input "inp"[1] : !fx.fixed<1, 3, 1>
  %2 = fx.add %0, %1 {layer = "d"} : !fx.fixed<1, 2, 2>, !fx.fixed<1, 3, 1> -> !fx.fixed<1, 4, 2>
  %3 = fx.quantize %2 RND SAT : !fx.fixed<1, 4, 2> -> !fx.fixed<1, 2, 1>
  fx.output "out"[0] %3 : !fx.fixed<1, 2, 1>
  func.return
}

// the interface: per port, (index, width, signed, frac) of each element from the LSB
// CHECK:      hw.module @f(in %[[INP:.*]] inp: i10, out out: i4) attributes {hgq.interface = {latency = 0 : i64, ports = {inp = array<i64: 0, 5, 1, 2, 1, 5, 1, 1>, out = array<i64: 0, 4, 1, 1>}}} {
// CHECK-NEXT:   %[[X0:.*]] = comb.extract %[[INP]] from 0 : (i10) -> i5
// CHECK-NEXT:   %[[X1:.*]] = comb.extract %[[INP]] from 5 : (i10) -> i5
// CHECK-NEXT:   %[[MSB0:.*]] = comb.extract %[[X0]] from 4 : (i5) -> i1
// CHECK-NEXT:   %[[EXT0:.*]] = comb.replicate %[[MSB0]] : (i1) -> i2
// CHECK-NEXT:   %[[A:.*]] = comb.concat %[[EXT0]], %[[X0]] : i2, i5
// CHECK-NEXT:   %[[MSB1:.*]] = comb.extract %[[X1]] from 4 : (i5) -> i1
// CHECK-NEXT:   %[[Z:.*]] = hw.constant false
// CHECK-NEXT:   %[[B:.*]] = comb.concat %[[MSB1]], %[[X1]], %[[Z]] : i1, i5, i1
// CHECK-NEXT:   %[[SUM:.*]] = comb.add %[[A]], %[[B]] {layer = "d"} : i7
// CHECK:        comb.add %{{.*}}, %{{.*}} : i8
// CHECK:        comb.icmp sgt
// CHECK:        comb.mux
// CHECK:        comb.icmp slt
// CHECK:        %[[Q:.*]] = comb.mux
// CHECK-NEXT:   hw.output %[[Q]] : i4
