// RUN: hgq-opt %s -p canonicalize --split-input-file | filecheck %s

// A dense layer with all-zero weights is its bias; a quantizer of a constant is a constant.
func.func @m() {
  %0 = hgq.input "inp" : tensor<2xf32>
  %1 = hgq.quantize %0 RND WRAP k = dense<1> : tensor<2xi32>, i = dense<2> : tensor<2xi32>, f = dense<2> : tensor<2xi32> : tensor<2xf32> -> tensor<2x!hgq.fixed<1, 2, 2>>
  %2 = hgq.const mantissa = dense<0> : tensor<2x2xi32>, exponent = dense<0> : tensor<2x2xi32> -> tensor<2x2x!hgq.fixed<0, 0, 0>>
  %3 = hgq.const mantissa = dense<[5, -3]> : tensor<2xi32>, exponent = dense<-3> : tensor<2xi32> -> tensor<2x!hgq.fixed<1, 0, 3>>
  %4 = hgq.dense %1, %2, %3 : tensor<2x!hgq.fixed<1, 2, 2>>, tensor<2x2x!hgq.fixed<0, 0, 0>>, tensor<2x!hgq.fixed<1, 0, 3>> -> tensor<2x!hgq.fixed<1, 0, 3>>
  %5 = hgq.quantize %4 RND_CONV SAT k = dense<1> : tensor<2xi32>, i = dense<0> : tensor<2xi32>, f = dense<2> : tensor<2xi32> : tensor<2x!hgq.fixed<1, 0, 3>> -> tensor<2x!hgq.fixed<1, 0, 2>>
  hgq.output "out" %5 : tensor<2x!hgq.fixed<1, 0, 2>>
  func.return
}

// CHECK-LABEL: func.func @m
// 5/8 -> 0.5 (tie to even: 2/4), -3/8 -> -0.5 (tie to even: -2/4)
// CHECK:      %[[C:.*]] = hgq.const mantissa = dense<[2, -2]> : tensor<2xi32>, exponent = dense<-2> : tensor<2xi32>
// CHECK-NEXT: hgq.output "out" %[[C]]

// -----
// RUN: hgq-opt %s -p canonicalize --split-input-file | filecheck %s --check-prefix=RELU

// A relu of a value whose type is unsigned is the value.
func.func @relu() {
  %0 = hgq.input "inp" : tensor<1xf32>
  %1 = hgq.quantize %0 TRN SAT k = dense<0> : tensor<1xi32>, i = dense<2> : tensor<1xi32>, f = dense<1> : tensor<1xi32> : tensor<1xf32> -> tensor<1x!hgq.fixed<0, 2, 1>>
  %2 = hgq.relu %1 : tensor<1x!hgq.fixed<0, 2, 1>> -> tensor<1x!hgq.fixed<0, 2, 1>>
  hgq.output "out" %2 : tensor<1x!hgq.fixed<0, 2, 1>>
  func.return
}
// RELU-LABEL: func.func @relu
// RELU-NEXT:  hgq.input
// RELU-NEXT:  %[[Q:.*]] = hgq.quantize
// RELU-NEXT:  hgq.output "out" %[[Q]]
