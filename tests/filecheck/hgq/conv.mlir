// RUN: hgq-opt %s | hgq-opt | filecheck %s
// RUN: hgq-opt %s -p lower-hgq-to-fx | filecheck %s --check-prefix=FX

// A 1-D convolution (3 positions, kernel 2, one channel, weights [1, 2]) then a max pool
// over positions {0, 1} and {2}.
func.func @conv() {
  %0 = hgq.input "inp" : tensor<4xf32>
  %1 = hgq.quantize %0 TRN SAT k = dense<0> : tensor<4xi32>, i = dense<2> : tensor<4xi32>, f = dense<0> : tensor<4xi32> : tensor<4xf32> -> tensor<4x!hgq.fixed<0, 2, 0>>
  %2 = hgq.const mantissa = dense<[[1], [1]]> : tensor<2x1xi32>, exponent = dense<[[0], [1]]> : tensor<2x1xi32> -> tensor<2x1x!hgq.fixed<0, 2, 0>>
  %3 = hgq.conv %1, %2 patches = dense<[[0, 1], [1, 2], [2, 3]]> : tensor<3x2xi32> : tensor<4x!hgq.fixed<0, 2, 0>>, tensor<2x1x!hgq.fixed<0, 2, 0>> -> tensor<3x!hgq.fixed<0, 4, 0>>
  %4 = hgq.maxpool %3 windows = dense<[[0, 1], [2, -1]]> : tensor<2x2xi32> : tensor<3x!hgq.fixed<0, 4, 0>> -> tensor<2x!hgq.fixed<0, 4, 0>>
  hgq.output "out" %4 : tensor<2x!hgq.fixed<0, 4, 0>>
  func.return
}

// CHECK: %3 = hgq.conv %1, %2 patches = dense<{{\[\[}}0, 1], [1, 2], [2, 3]]> : tensor<3x2xi32> : tensor<4x!hgq.fixed<0, 2, 0>>, tensor<2x1x!hgq.fixed<0, 2, 0>> -> tensor<3x!hgq.fixed<0, 4, 0>>
// CHECK: %4 = hgq.maxpool %3 windows = dense<{{\[\[}}0, 1], [2, -1]]> : tensor<2x2xi32>

// FX-COUNT-3: fx.add
// FX:         fx.max
// FX-NOT:     fx.max
// FX:         fx.output "out"[0]
// FX:         fx.output "out"[1]
