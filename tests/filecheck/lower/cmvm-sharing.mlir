// RUN: hgq-opt %s -p lower-hgq-to-fx | filecheck %s
// RUN: hgq-opt %s -p 'lower-hgq-to-fx{dense=csd}' | filecheck %s --check-prefix=CSD
// RUN: not hgq-opt %s -p 'lower-hgq-to-fx{depth-slack=-1}' 2>&1 | filecheck %s --check-prefix=SLACK

// Columns x0 + x1 and x0 + x1 + x2 share the adder x0 + x1 (cse: 2 adders; csd: 3).
func.func @shared() {
  %0 = hgq.input "inp" : tensor<3xf32>
  %1 = hgq.quantize %0 RND WRAP k = dense<1> : tensor<3xi32>, i = dense<2> : tensor<3xi32>, f = dense<2> : tensor<3xi32> : tensor<3xf32> -> tensor<3x!hgq.fixed<1, 2, 2>>
  %2 = hgq.const mantissa = dense<[[1, 1], [1, 1], [0, 1]]> : tensor<3x2xi32>, exponent = dense<0> : tensor<3x2xi32> -> tensor<3x2x!hgq.fixed<0, 1, 0>>
  %3 = hgq.dense %1, %2 : tensor<3x!hgq.fixed<1, 2, 2>>, tensor<3x2x!hgq.fixed<0, 1, 0>> -> tensor<2x!hgq.fixed<1, 4, 2>>
  hgq.output "out" %3 : tensor<2x!hgq.fixed<1, 4, 2>>
  func.return
}

// CHECK:      %[[X0:.*]] = fx.input "inp"[0]
// CHECK-NEXT: %[[X1:.*]] = fx.input "inp"[1]
// CHECK-NEXT: %[[X2:.*]] = fx.input "inp"[2]
// CHECK-NEXT: %[[S:.*]] = fx.add %[[X0]], %[[X1]] : !fx.fixed<1, 2, 2>, !fx.fixed<1, 2, 2> -> !fx.fixed<1, 3, 2>
// CHECK-NEXT: %[[T:.*]] = fx.add %[[X2]], %[[S]] : !fx.fixed<1, 2, 2>, !fx.fixed<1, 3, 2> -> !fx.fixed<1, 4, 2>
// CHECK-NEXT: fx.output "out"[0] %[[S]]
// CHECK-NEXT: fx.output "out"[1] %[[T]]

// CSD-COUNT-3: fx.add
// CSD-NOT:     fx.add

// SLACK: hgq-opt: lower-hgq-to-fx: depth-slack=-1 must be >= 0
