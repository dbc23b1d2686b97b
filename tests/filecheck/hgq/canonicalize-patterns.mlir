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

// -----
// RUN: hgq-opt %s -p canonicalize --split-input-file | filecheck %s --check-prefix=ZERO

// A recurrent cell's first step: a zero-bit quantizer is 0 whatever its input, the dense sum
// over it is its bias (3/4, -1/4), a gather of a constant is a constant, and a product by a
// constant (-1/4) is a constant multiplication: a dense with a diagonal kernel.
func.func @zero_state() {
  %0 = hgq.input "inp" : tensor<2xf32>
  %1 = hgq.quantize %0 RND WRAP k = dense<1> : tensor<2xi32>, i = dense<2> : tensor<2xi32>, f = dense<2> : tensor<2xi32> : tensor<2xf32> -> tensor<2x!hgq.fixed<1, 2, 2>>
  %2 = hgq.quantize %1 TRN WRAP k = dense<0> : tensor<2xi32>, i = dense<0> : tensor<2xi32>, f = dense<0> : tensor<2xi32> : tensor<2x!hgq.fixed<1, 2, 2>> -> tensor<2x!hgq.fixed<0, 0, 0>>
  %3 = hgq.const mantissa = dense<[[1, 2], [3, 4]]> : tensor<2x2xi32>, exponent = dense<0> : tensor<2x2xi32> -> tensor<2x2x!hgq.fixed<0, 3, 0>>
  %4 = hgq.const mantissa = dense<[3, -1]> : tensor<2xi32>, exponent = dense<-2> : tensor<2xi32> -> tensor<2x!hgq.fixed<1, 0, 2>>
  %5 = hgq.dense %2, %3, %4 : tensor<2x!hgq.fixed<0, 0, 0>>, tensor<2x2x!hgq.fixed<0, 3, 0>>, tensor<2x!hgq.fixed<1, 0, 2>> -> tensor<2x!hgq.fixed<1, 0, 2>>
  %6 = hgq.gather %5 index = dense<[1]> : tensor<1xi32> : tensor<2x!hgq.fixed<1, 0, 2>> -> tensor<1x!hgq.fixed<1, 0, 2>>
  %7 = hgq.gather %1 index = dense<[0]> : tensor<1xi32> : tensor<2x!hgq.fixed<1, 2, 2>> -> tensor<1x!hgq.fixed<1, 2, 2>>
  %8 = hgq.mul %7, %6 : tensor<1x!hgq.fixed<1, 2, 2>>, tensor<1x!hgq.fixed<1, 0, 2>> -> tensor<1x!hgq.fixed<1, 2, 4>>
  hgq.output "out" %8 : tensor<1x!hgq.fixed<1, 2, 4>>
  func.return
}
// ZERO-LABEL: func.func @zero_state
// ZERO:       %[[Q:.*]] = hgq.quantize %{{.*}} RND WRAP
// ZERO-NEXT:  %[[X:.*]] = hgq.gather %[[Q]] index = dense<0>
// ZERO-NEXT:  %[[W:.*]] = hgq.const mantissa = dense<-1> : tensor<1x1xi32>, exponent = dense<-2> : tensor<1x1xi32>
// ZERO-NEXT:  %[[Y:.*]] = hgq.dense %[[X]], %[[W]] :
// ZERO-SAME:  -> tensor<1x!hgq.fixed<1, 2, 4>>
// ZERO-NEXT:  hgq.output "out" %[[Y]]
// ZERO-NOT:   hgq.mul
