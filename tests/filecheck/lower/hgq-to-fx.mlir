// RUN: hgq-opt %s -p 'lower-hgq-to-fx{dense=csd}' | filecheck %s

// y = relu(q(x) · W + b): x0*3 is (x0 << 2) - x0 (canonical signed digits), x1*-1 a
// subtraction; the zero weight and the zero-width input x2 produce no logic, and
// relu of x1 (column 1 is just x1) needs no adder.
func.func @small() {
  %0 = hgq.input "inp" : tensor<3xf32>
  %1 = hgq.quantize %0 RND WRAP k = dense<[1, 1, 0]> : tensor<3xi32>, i = dense<[2, 2, 0]> : tensor<3xi32>, f = dense<[2, 2, 0]> : tensor<3xi32> : tensor<3xf32> -> tensor<3x!hgq.fixed<1, 2, 2>>
  %2 = hgq.const mantissa = dense<[[3, 0], [-1, 1], [5, 5]]> : tensor<3x2xi32>, exponent = dense<0> : tensor<3x2xi32> -> tensor<3x2x!hgq.fixed<1, 3, 0>>
  %3 = hgq.const mantissa = dense<[1, 0]> : tensor<2xi32>, exponent = dense<-1> : tensor<2xi32> -> tensor<2x!hgq.fixed<0, 0, 1>>
  %4 = hgq.dense %1, %2, %3 {layer = "d"} : tensor<3x!hgq.fixed<1, 2, 2>>, tensor<3x2x!hgq.fixed<1, 3, 0>>, tensor<2x!hgq.fixed<0, 0, 1>> -> tensor<2x!hgq.fixed<1, 5, 2>>
  %5 = hgq.relu %4 {layer = "d"} : tensor<2x!hgq.fixed<1, 5, 2>> -> tensor<2x!hgq.fixed<0, 5, 2>>
  hgq.output "out" %5 : tensor<2x!hgq.fixed<0, 5, 2>>
  func.return
}

// CHECK:      %[[X0:.*]] = fx.input "inp"[0] : !fx.fixed<1, 2, 2>
// CHECK-NEXT: %[[X1:.*]] = fx.input "inp"[1] : !fx.fixed<1, 2, 2>
// CHECK-NEXT: %[[S:.*]] = fx.shift %[[X0]] by 2 : !fx.fixed<1, 2, 2> -> !fx.fixed<1, 4, 0>
// CHECK-NEXT: %[[A:.*]] = fx.sub %[[S]], %[[X0]] {layer = "d"} : !fx.fixed<1, 4, 0>, !fx.fixed<1, 2, 2> -> !fx.fixed<1, 4, 2>
// CHECK-NEXT: %[[B:.*]] = fx.sub %[[A]], %[[X1]] {layer = "d"} : !fx.fixed<1, 4, 2>, !fx.fixed<1, 2, 2> -> !fx.fixed<1, 4, 2>
// CHECK-NEXT: %[[C:.*]] = fx.const 1 : !fx.fixed<0, 0, 1>
// CHECK-NEXT: %[[Y0:.*]] = fx.add %[[B]], %[[C]] {layer = "d"} : !fx.fixed<1, 4, 2>, !fx.fixed<0, 0, 1> -> !fx.fixed<1, 4, 2>
// CHECK-NEXT: %[[R0:.*]] = fx.relu %[[Y0]] {layer = "d"} : !fx.fixed<1, 4, 2> -> !fx.fixed<0, 4, 2>
// CHECK-NEXT: %[[R1:.*]] = fx.relu %[[X1]] {layer = "d"} : !fx.fixed<1, 2, 2> -> !fx.fixed<0, 2, 2>
// CHECK-NEXT: fx.output "out"[0] %[[R0]] : !fx.fixed<0, 4, 2>
// CHECK-NEXT: fx.output "out"[1] %[[R1]] : !fx.fixed<0, 2, 2>
// CHECK-NOT:  fx.input
