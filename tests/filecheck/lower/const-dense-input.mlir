// RUN: hgq-opt %s -p canonicalize,lower-hgq-to-fx | filecheck %s

// A dense layer whose input canonicalization turned into a constant (a quantizer of a
// constant): the lowering folds it like any other input (a hypothesis-found case).
func.func @const_input() {
  %0 = hgq.input "inp" : tensor<1xf32>
  %1 = hgq.const mantissa = dense<[3, -1]> : tensor<2xi32>, exponent = dense<-1> : tensor<2xi32> -> tensor<2x!hgq.fixed<1, 1, 1>>
  %2 = hgq.quantize %1 RND WRAP k = dense<1> : tensor<2xi32>, i = dense<2> : tensor<2xi32>, f = dense<0> : tensor<2xi32> : tensor<2x!hgq.fixed<1, 1, 1>> -> tensor<2x!hgq.fixed<1, 2, 0>>
  %3 = hgq.const mantissa = dense<[[1], [3]]> : tensor<2x1xi32>, exponent = dense<0> : tensor<2x1xi32> -> tensor<2x1x!hgq.fixed<1, 2, 0>>
  %4 = hgq.dense %2, %3 : tensor<2x!hgq.fixed<1, 2, 0>>, tensor<2x1x!hgq.fixed<1, 2, 0>> -> tensor<1x!hgq.fixed<1, 3, 0>>
  hgq.output "out" %4 : tensor<1x!hgq.fixed<1, 3, 0>>
  func.return
}

// round(1.5) = 2, round(-0.5) = 0 (RND rounds half up): 2·1 + 0·3 = 2
// CHECK: %[[C:.*]] = fx.const 2 : !fx.fixed<0, 2, 0>
// CHECK: fx.output "out"[0] %[[C]]
