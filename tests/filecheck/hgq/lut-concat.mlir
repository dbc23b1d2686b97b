// RUN: hgq-opt %s | hgq-opt | filecheck %s
// RUN: hgq-opt %s -p lower-hgq-to-fx | filecheck %s --check-prefix=FX
// RUN: hgq-opt %s -p lower-hgq-to-fx,lower-fx-to-hw | filecheck %s --check-prefix=HW

// Two inputs; a table on one (element 1 reads only 2 of its 4 entries: its input is 0..1),
// then a concatenation reordered by a gather.
func.func @tables() {
  %0 = hgq.input "inp0" : tensor<2xf32>
  %1 = hgq.input "inp1" : tensor<1xf32>
  %2 = hgq.quantize %0 RND WRAP k = dense<1> : tensor<2xi32>, i = dense<[1, 0]> : tensor<2xi32>, f = dense<0> : tensor<2xi32> : tensor<2xf32> -> tensor<2x!hgq.fixed<1, 1, 0>>
  %3 = hgq.lut %2 in_lo = dense<[-2, -1]> : tensor<2xi32>, in_frac = dense<0> : tensor<2xi32>, out_frac = dense<2> : tensor<2xi32>, table = dense<[[-3, -1, 0, 3], [5, 6, 6, 6]]> : tensor<2x4xi32> : tensor<2x!hgq.fixed<1, 1, 0>> -> tensor<2x!hgq.fixed<1, 1, 2>>
  %4 = hgq.quantize %1 TRN SAT k = dense<0> : tensor<1xi32>, i = dense<2> : tensor<1xi32>, f = dense<0> : tensor<1xi32> : tensor<1xf32> -> tensor<1x!hgq.fixed<0, 2, 0>>
  %5 = hgq.concat %3, %4 : tensor<2x!hgq.fixed<1, 1, 2>>, tensor<1x!hgq.fixed<0, 2, 0>> -> tensor<3x!hgq.fixed<1, 2, 2>>
  %6 = hgq.gather %5 index = dense<[2, 0, 1]> : tensor<3xi32> : tensor<3x!hgq.fixed<1, 2, 2>> -> tensor<3x!hgq.fixed<1, 2, 2>>
  hgq.output "out" %6 : tensor<3x!hgq.fixed<1, 2, 2>>
  func.return
}

// CHECK: hgq.lut %2 in_lo = dense<[-2, -1]> : tensor<2xi32>, in_frac = dense<0> : tensor<2xi32>, out_frac = dense<2> : tensor<2xi32>, table = dense<{{\[\[}}-3, -1, 0, 3], [5, 6, 6, 6]]> : tensor<2x4xi32>
// CHECK: hgq.concat %3, %4
// CHECK: hgq.gather %5 index = dense<[2, 0, 1]>

// FX-DAG: %[[A:.*]] = fx.input "inp0"[0] : !fx.fixed<1, 1, 0>
// FX-DAG: %[[B:.*]] = fx.input "inp0"[1] : !fx.fixed<1, 0, 0>
// FX: fx.lut %[[A]] lo -2 table = dense<[-3, -1, 0, 3]> : tensor<4xi32> : !fx.fixed<1, 1, 0> -> !fx.fixed<1, 0, 2>
// element 1: input -1..0 reads entries 0..1 = 5, 6
// FX: fx.lut %[[B]] lo -1 table = dense<[5, 6]> : tensor<2xi32> : !fx.fixed<1, 0, 0> -> !fx.fixed<0, 1, 2>
// FX: %[[C:.*]] = fx.input "inp1"[0] : !fx.fixed<0, 2, 0>
// FX: fx.output "out"[0] %[[C]]
// FX-NEXT: fx.output "out"[1]
// FX-NEXT: fx.output "out"[2]

// the table is indexed by the raw bits: -2 -> 2'b10, -1 -> 2'b11, 0 -> 2'b00, 1 -> 2'b01
// HW: %[[T:.*]] = hw.array_create %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : i3
// HW: hw.array_get %[[T]][%{{.*}}] : !hw.array<4xi3>, i2
