// RUN: hgq-opt %s -p cse,dce | filecheck %s

// cse merges the duplicate constant and dense; dce drops the unused relu.
func.func @m() {
  %0 = hgq.input "inp" : tensor<2xf32>
  %1 = hgq.quantize %0 RND WRAP k = dense<1> : tensor<2xi32>, i = dense<2> : tensor<2xi32>, f = dense<3> : tensor<2xi32> : tensor<2xf32> -> tensor<2x!hgq.fixed<1, 2, 3>>
  %2 = hgq.const mantissa = dense<[[1, 3], [-1, 1]]> : tensor<2x2xi32>, exponent = dense<0> : tensor<2x2xi32> -> tensor<2x2x!hgq.fixed<1, 2, 0>>
  %3 = hgq.const mantissa = dense<[[1, 3], [-1, 1]]> : tensor<2x2xi32>, exponent = dense<0> : tensor<2x2xi32> -> tensor<2x2x!hgq.fixed<1, 2, 0>>
  %4 = hgq.dense %1, %2 : tensor<2x!hgq.fixed<1, 2, 3>>, tensor<2x2x!hgq.fixed<1, 2, 0>> -> tensor<2x!hgq.fixed<1, 5, 3>>
  %5 = hgq.dense %1, %3 : tensor<2x!hgq.fixed<1, 2, 3>>, tensor<2x2x!hgq.fixed<1, 2, 0>> -> tensor<2x!hgq.fixed<1, 5, 3>>
  %6 = hgq.relu %5 : tensor<2x!hgq.fixed<1, 5, 3>> -> tensor<2x!hgq.fixed<0, 5, 3>>
  hgq.output "a" %4 : tensor<2x!hgq.fixed<1, 5, 3>>
  hgq.output "b" %5 : tensor<2x!hgq.fixed<1, 5, 3>>
  func.return
}

// CHECK:          hgq.quantize
// CHECK-NEXT:     %[[W:.*]] = hgq.const
// CHECK-NOT:      hgq.const
// CHECK-NEXT:     %[[D:.*]] = hgq.dense %{{.*}}, %[[W]]
// CHECK-NOT:      hgq.relu
// CHECK-NEXT:     hgq.output "a" %[[D]]
// CHECK-NEXT:     hgq.output "b" %[[D]]
