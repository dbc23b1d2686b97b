// RUN: hgq-opt %s --split-input-file --verify-diagnostics --parsing-diagnostics | filecheck %s

func.func @bad_round() {
  %0 = hgq.input "inp" : tensor<2xf32>
  %1 = hgq.quantize %0 RND_UP WRAP k = dense<1> : tensor<2xi32>, i = dense<2> : tensor<2xi32>, f = dense<3> : tensor<2xi32> : tensor<2xf32> -> tensor<2x!hgq.fixed<1, 2, 3>>
  func.return
}
// CHECK: unknown round mode 'RND_UP'

// -----

func.func @bad_overflow() {
  %0 = hgq.input "inp" : tensor<2xf32>
  %1 = hgq.quantize %0 RND SAT_ZERO k = dense<1> : tensor<2xi32>, i = dense<2> : tensor<2xi32>, f = dense<3> : tensor<2xi32> : tensor<2xf32> -> tensor<2x!hgq.fixed<1, 2, 3>>
  func.return
}
// CHECK: unknown overflow mode 'SAT_ZERO'

// -----

func.func @bad_sign_bit() {
  %0 = hgq.input "inp" : tensor<2xf32>
  %1 = hgq.quantize %0 RND WRAP k = dense<[1, 2]> : tensor<2xi32>, i = dense<2> : tensor<2xi32>, f = dense<3> : tensor<2xi32> : tensor<2xf32> -> tensor<2x!hgq.fixed<1, 2, 3>>
  func.return
}
// CHECK: k must be 0 or 1 for every element

// -----

func.func @kif_shape() {
  %0 = hgq.input "inp" : tensor<2xf32>
  %1 = hgq.quantize %0 RND WRAP k = dense<1> : tensor<3xi32>, i = dense<2> : tensor<2xi32>, f = dense<3> : tensor<2xi32> : tensor<2xf32> -> tensor<2x!hgq.fixed<1, 2, 3>>
  func.return
}
// CHECK: k has shape (3,), expected (2,)

// -----

func.func @dense_shape() {
  %0 = hgq.input "inp" : tensor<2xf32>
  %1 = hgq.quantize %0 RND WRAP k = dense<1> : tensor<2xi32>, i = dense<2> : tensor<2xi32>, f = dense<3> : tensor<2xi32> : tensor<2xf32> -> tensor<2x!hgq.fixed<1, 2, 3>>
  %2 = hgq.const mantissa = dense<1> : tensor<3x2xi32>, exponent = dense<0> : tensor<3x2xi32> -> tensor<3x2x!hgq.fixed<0, 1, 0>>
  %3 = hgq.dense %1, %2 : tensor<2x!hgq.fixed<1, 2, 3>>, tensor<3x2x!hgq.fixed<0, 1, 0>> -> tensor<2x!hgq.fixed<1, 5, 3>>
  func.return
}
// CHECK: dense weights must have shape (2, N), got (3, 2)

// -----

func.func @dense_result() {
  %0 = hgq.input "inp" : tensor<2xf32>
  %1 = hgq.quantize %0 RND WRAP k = dense<1> : tensor<2xi32>, i = dense<2> : tensor<2xi32>, f = dense<3> : tensor<2xi32> : tensor<2xf32> -> tensor<2x!hgq.fixed<1, 2, 3>>
  %2 = hgq.const mantissa = dense<1> : tensor<2x4xi32>, exponent = dense<0> : tensor<2x4xi32> -> tensor<2x4x!hgq.fixed<0, 1, 0>>
  %3 = hgq.dense %1, %2 : tensor<2x!hgq.fixed<1, 2, 3>>, tensor<2x4x!hgq.fixed<0, 1, 0>> -> tensor<3x!hgq.fixed<1, 5, 3>>
  func.return
}
// CHECK: dense result must have shape (4,)

// -----

func.func @relu_shape() {
  %0 = hgq.input "inp" : tensor<2xf32>
  %1 = hgq.quantize %0 RND WRAP k = dense<1> : tensor<2xi32>, i = dense<2> : tensor<2xi32>, f = dense<3> : tensor<2xi32> : tensor<2xf32> -> tensor<2x!hgq.fixed<1, 2, 3>>
  %2 = hgq.relu %1 : tensor<2x!hgq.fixed<1, 2, 3>> -> tensor<3x!hgq.fixed<0, 2, 3>>
  func.return
}
// CHECK: relu result shape must equal its input shape

// -----

func.func @lut_shape() {
  %0 = hgq.input "inp" : tensor<2xf32>
  %1 = hgq.quantize %0 RND WRAP k = dense<1> : tensor<2xi32>, i = dense<1> : tensor<2xi32>, f = dense<0> : tensor<2xi32> : tensor<2xf32> -> tensor<2x!hgq.fixed<1, 1, 0>>
  %2 = hgq.lut %1 in_lo = dense<-2> : tensor<2xi32>, in_frac = dense<0> : tensor<2xi32>, out_frac = dense<0> : tensor<2xi32>, table = dense<1> : tensor<3x4xi32> : tensor<2x!hgq.fixed<1, 1, 0>> -> tensor<2x!hgq.fixed<0, 1, 0>>
  func.return
}
// CHECK: lut table must have shape (2, T) with T >= 1, got (3, 4)

// -----

func.func @gather_range() {
  %0 = hgq.input "inp" : tensor<2xf32>
  %1 = hgq.gather %0 index = dense<[0, 2]> : tensor<2xi32> : tensor<2xf32> -> tensor<2xf32>
  func.return
}
// CHECK: gather index must be a 1-D array of indices in [0, 2)
