// RUN: hgq-opt %s -p hgq-infer-precision | filecheck %s

// x in [-2, 1.75] on a 1/4 grid: 3x is in [-6, 5.25] (not the envelope's [-8, 7.75]),
// so the quantizer to <1, 3, 2> can neither round nor overflow: it goes. The relu's
// input is never negative after the +6 bias: it goes too, and every type is exact.
func.func @m() {
  %0 = hgq.input "inp" : tensor<1xf32>
  %1 = hgq.quantize %0 RND WRAP k = dense<1> : tensor<1xi32>, i = dense<1> : tensor<1xi32>, f = dense<2> : tensor<1xi32> : tensor<1xf32> -> tensor<1x!hgq.fixed<1, 1, 2>>
  %2 = hgq.const mantissa = dense<[[3]]> : tensor<1x1xi32>, exponent = dense<0> : tensor<1x1xi32> -> tensor<1x1x!hgq.fixed<0, 2, 0>>
  %3 = hgq.dense %1, %2 : tensor<1x!hgq.fixed<1, 1, 2>>, tensor<1x1x!hgq.fixed<0, 2, 0>> -> tensor<1x!hgq.fixed<1, 9, 9>>
  %4 = hgq.quantize %3 RND SAT k = dense<1> : tensor<1xi32>, i = dense<3> : tensor<1xi32>, f = dense<2> : tensor<1xi32> : tensor<1x!hgq.fixed<1, 9, 9>> -> tensor<1x!hgq.fixed<1, 3, 2>>
  %5 = hgq.const mantissa = dense<[[1]]> : tensor<1x1xi32>, exponent = dense<0> : tensor<1x1xi32> -> tensor<1x1x!hgq.fixed<0, 1, 0>>
  %6 = hgq.const mantissa = dense<3> : tensor<1xi32>, exponent = dense<1> : tensor<1xi32> -> tensor<1x!hgq.fixed<0, 3, 0>>
  %7 = hgq.dense %4, %5, %6 : tensor<1x!hgq.fixed<1, 3, 2>>, tensor<1x1x!hgq.fixed<0, 1, 0>>, tensor<1x!hgq.fixed<0, 3, 0>> -> tensor<1x!hgq.fixed<1, 9, 9>>
  %8 = hgq.relu %7 : tensor<1x!hgq.fixed<1, 9, 9>> -> tensor<1x!hgq.fixed<0, 9, 9>>
  hgq.output "out" %8 : tensor<1x!hgq.fixed<0, 9, 9>>
  func.return
}

// CHECK:      %[[Q:.*]] = hgq.quantize %0 RND WRAP
// CHECK:      %[[D:.*]] = hgq.dense %[[Q]], %{{.*}} -> tensor<1x!hgq.fixed<1, 3, 2>>
// CHECK-NOT:  hgq.quantize
// CHECK:      %[[D2:.*]] = hgq.dense %[[D]], %{{.*}}, %{{.*}} -> tensor<1x!hgq.fixed<0, 4, 2>>
// CHECK-NOT:  hgq.relu
// CHECK-NEXT: hgq.output "out" %[[D2]]
