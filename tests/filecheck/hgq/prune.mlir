// RUN: hgq-opt %s -p hgq-prune | filecheck %s

// Hidden neuron 1 has a zero-width quantizer in the next layer (dead): its column of the
// first kernel goes, and with it input 1, which fed nothing else. Hidden neuron 2 has
// no incoming weights: it is the constant relu(1.5) = 1.5, quantized to 1.5, and folds
// into the output bias: 0.25 + 1.5 * 2 = 3.25 = 13 * 2^-2; then neuron 2 is dead too
// and the first layer's bias goes with it.
func.func @m() {
  %0 = hgq.input "inp" : tensor<2xf32>
  %1 = hgq.quantize %0 RND WRAP k = dense<1> : tensor<2xi32>, i = dense<2> : tensor<2xi32>, f = dense<2> : tensor<2xi32> {layer = "h"} : tensor<2xf32> -> tensor<2x!hgq.fixed<1, 2, 2>>
  %2 = hgq.const mantissa = dense<[[1, 0, 0], [0, 3, 0]]> : tensor<2x3xi32>, exponent = dense<0> : tensor<2x3xi32> -> tensor<2x3x!hgq.fixed<1, 2, 0>>
  %3 = hgq.const mantissa = dense<[0, 0, 3]> : tensor<3xi32>, exponent = dense<-1> : tensor<3xi32> -> tensor<3x!hgq.fixed<0, 1, 1>>
  %4 = hgq.dense %1, %2, %3 {layer = "h"} : tensor<2x!hgq.fixed<1, 2, 2>>, tensor<2x3x!hgq.fixed<1, 2, 0>>, tensor<3x!hgq.fixed<0, 1, 1>> -> tensor<3x!hgq.fixed<1, 4, 2>>
  %5 = hgq.relu %4 {layer = "h"} : tensor<3x!hgq.fixed<1, 4, 2>> -> tensor<3x!hgq.fixed<0, 4, 2>>
  %6 = hgq.quantize %5 RND SAT k = dense<0> : tensor<3xi32>, i = dense<[3, 0, 3]> : tensor<3xi32>, f = dense<[2, 0, 2]> : tensor<3xi32> {layer = "o"} : tensor<3x!hgq.fixed<0, 4, 2>> -> tensor<3x!hgq.fixed<0, 3, 2>>
  %7 = hgq.const mantissa = dense<[[1], [1], [1]]> : tensor<3x1xi32>, exponent = dense<[[0], [0], [1]]> : tensor<3x1xi32> -> tensor<3x1x!hgq.fixed<0, 2, 0>>
  %8 = hgq.const mantissa = dense<1> : tensor<1xi32>, exponent = dense<-2> : tensor<1xi32> -> tensor<1x!hgq.fixed<0, 0, 2>>
  %9 = hgq.dense %6, %7, %8 {layer = "o"} : tensor<3x!hgq.fixed<0, 3, 2>>, tensor<3x1x!hgq.fixed<0, 2, 0>>, tensor<1x!hgq.fixed<0, 0, 2>> -> tensor<1x!hgq.fixed<0, 5, 2>>
  hgq.output "out" %9 : tensor<1x!hgq.fixed<0, 5, 2>>
  func.return
}

// CHECK:      func.func @m() attributes {hgq.prune = {layers = {{.*}}, inputs_removed = 1 : i64}}
// CHECK:      hgq.quantize %0 RND WRAP k = dense<[1, 0]> : tensor<2xi32>, i = dense<[2, 0]> : tensor<2xi32>, f = dense<[2, 0]> : tensor<2xi32>
// CHECK-NEXT: %[[W:.*]] = hgq.const mantissa = dense<{{\[\[}}1, 0, 0], [0, 0, 0]]> : tensor<2x3xi32>
// CHECK-NEXT: hgq.dense %{{.*}}, %[[W]] {layer = "h"}
// CHECK:      hgq.quantize %{{.*}} RND SAT k = dense<0> : tensor<3xi32>, i = dense<[3, 0, 0]> : tensor<3xi32>, f = dense<[2, 0, 0]> : tensor<3xi32>
// CHECK-NEXT: hgq.const mantissa = dense<{{\[\[}}1], [0], [0]]> : tensor<3x1xi32>
// CHECK-NEXT: hgq.const mantissa = dense<13> : tensor<1xi32>, exponent = dense<-2> : tensor<1xi32>
