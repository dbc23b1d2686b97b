// RUN: hgq-opt %s | hgq-opt | filecheck %s
// RUN: hgq-opt %s --print-op-generic | hgq-opt | filecheck %s

builtin.module {
  func.func @tiny() {
    %0 = hgq.input "inp" : tensor<3xf32>
    %1 = hgq.quantize %0 RND_CONV SAT_SYM k = dense<[1, 0, 1]> : tensor<3xi32>, i = dense<2> : tensor<3xi32>, f = dense<[3, 3, -1]> : tensor<3xi32> : tensor<3xf32> -> tensor<3x!hgq.fixed<1, 2, 3>>
    %2 = hgq.const mantissa = dense<[[1, -3], [0, 5], [7, 1]]> : tensor<3x2xi32>, exponent = dense<[[0, -1], [0, -2], [1, 0]]> : tensor<3x2xi32> -> tensor<3x2x!hgq.fixed<1, 4, 2>>
    %3 = hgq.const mantissa = dense<[1, -1]> : tensor<2xi32>, exponent = dense<-4> : tensor<2xi32> -> tensor<2x!hgq.fixed<1, 0, 4>>
    %4 = hgq.dense %1, %2, %3 : tensor<3x!hgq.fixed<1, 2, 3>>, tensor<3x2x!hgq.fixed<1, 4, 2>>, tensor<2x!hgq.fixed<1, 0, 4>> -> tensor<2x!hgq.fixed<1, 8, 5>>
    %5 = hgq.relu %4 : tensor<2x!hgq.fixed<1, 8, 5>> -> tensor<2x!hgq.fixed<0, 8, 5>>
    %6 = hgq.dense %1, %2 : tensor<3x!hgq.fixed<1, 2, 3>>, tensor<3x2x!hgq.fixed<1, 4, 2>> -> tensor<2x!hgq.fixed<1, 8, 5>>
    hgq.output "out" %5 : tensor<2x!hgq.fixed<0, 8, 5>>
    hgq.output "out_linear" %6 : tensor<2x!hgq.fixed<1, 8, 5>>
    func.return
  }
}

// CHECK:      %0 = hgq.input "inp" : tensor<3xf32>
// CHECK-NEXT: %1 = hgq.quantize %0 RND_CONV SAT_SYM k = dense<[1, 0, 1]> : tensor<3xi32>, i = dense<2> : tensor<3xi32>, f = dense<[3, 3, -1]> : tensor<3xi32> : tensor<3xf32> -> tensor<3x!hgq.fixed<1, 2, 3>>
// CHECK-NEXT: %2 = hgq.const mantissa = dense<{{\[\[}}1, -3], [0, 5], [7, 1]]> : tensor<3x2xi32>, exponent = dense<{{\[\[}}0, -1], [0, -2], [1, 0]]> : tensor<3x2xi32> -> tensor<3x2x!hgq.fixed<1, 4, 2>>
// CHECK-NEXT: %3 = hgq.const mantissa = dense<[1, -1]> : tensor<2xi32>, exponent = dense<-4> : tensor<2xi32> -> tensor<2x!hgq.fixed<1, 0, 4>>
// CHECK-NEXT: %4 = hgq.dense %1, %2, %3 : tensor<3x!hgq.fixed<1, 2, 3>>, tensor<3x2x!hgq.fixed<1, 4, 2>>, tensor<2x!hgq.fixed<1, 0, 4>> -> tensor<2x!hgq.fixed<1, 8, 5>>
// CHECK-NEXT: %5 = hgq.relu %4 : tensor<2x!hgq.fixed<1, 8, 5>> -> tensor<2x!hgq.fixed<0, 8, 5>>
// CHECK-NEXT: %6 = hgq.dense %1, %2 : tensor<3x!hgq.fixed<1, 2, 3>>, tensor<3x2x!hgq.fixed<1, 4, 2>> -> tensor<2x!hgq.fixed<1, 8, 5>>
// CHECK-NEXT: hgq.output "out" %5 : tensor<2x!hgq.fixed<0, 8, 5>>
// CHECK-NEXT: hgq.output "out_linear" %6 : tensor<2x!hgq.fixed<1, 8, 5>>
