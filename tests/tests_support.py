"""Small shared inputs for tests."""

tiny_mlir = """
func.func @m() {
  %0 = hgq.input "inp" : tensor<2xf32>
  %1 = hgq.quantize %0 RND WRAP k = dense<1> : tensor<2xi32>, i = dense<2> : tensor<2xi32>, f = dense<2> : tensor<2xi32> : tensor<2xf32> -> tensor<2x!hgq.fixed<1, 2, 2>>
  %2 = hgq.const mantissa = dense<[[3, 1], [1, -5]]> : tensor<2x2xi32>, exponent = dense<0> : tensor<2x2xi32> -> tensor<2x2x!hgq.fixed<1, 3, 0>>
  %3 = hgq.dense %1, %2 : tensor<2x!hgq.fixed<1, 2, 2>>, tensor<2x2x!hgq.fixed<1, 3, 0>> -> tensor<2x!hgq.fixed<1, 6, 2>>
  hgq.output "out" %3 : tensor<2x!hgq.fixed<1, 6, 2>>
  func.return
}
"""
