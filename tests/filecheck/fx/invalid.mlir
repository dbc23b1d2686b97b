// RUN: hgq-opt %s --split-input-file --verify-diagnostics --parsing-diagnostics | filecheck %s

func.func @drops_bits() {
  %0 = fx.input "inp"[0] : !fx.fixed<1, 2, 3>
  %1 = fx.add %0, %0 : !fx.fixed<1, 2, 3>, !fx.fixed<1, 2, 3> -> !fx.fixed<1, 4, 2>
  func.return
}
// CHECK: fx.add result must keep every fractional bit: f = 3, got 2

// -----

func.func @bad_shift() {
  %0 = fx.input "inp"[0] : !fx.fixed<1, 2, 3>
  %1 = fx.shift %0 by 2 : !fx.fixed<1, 2, 3> -> !fx.fixed<1, 2, 3>
  func.return
}
// CHECK: fx.shift by 2 of !fx.fixed<1, 2, 3> must give !fx.fixed<1, 4, 1>

// -----

func.func @const_too_wide() {
  %0 = fx.const 9 : !fx.fixed<1, 2, 1>
  func.return
}
// CHECK: constant 9 does not fit !fx.fixed<1, 2, 1>

// -----

func.func @zero_width() {
  %0 = fx.input "inp"[0] : !fx.fixed<0, 0, 0>
  func.return
}
// CHECK: width k+i+f must be at least 1

// -----

func.func @bad_mode() {
  %0 = fx.input "inp"[0] : !fx.fixed<1, 2, 3>
  %1 = fx.quantize %0 FLOOR WRAP : !fx.fixed<1, 2, 3> -> !fx.fixed<1, 2, 1>
  func.return
}
// CHECK: unknown round mode 'FLOOR'

// -----

func.func @lut_keys() {
  %0 = fx.input "inp"[0] : !fx.fixed<1, 1, 0>
  %1 = fx.lut %0 lo -3 table = dense<[1, 2]> : tensor<2xi32> : !fx.fixed<1, 1, 0> -> !fx.fixed<0, 2, 0>
  func.return
}
// CHECK: fx.lut keys -3..-2 exceed the input type !fx.fixed<1, 1, 0>

// -----

func.func @lut_values() {
  %0 = fx.input "inp"[0] : !fx.fixed<1, 1, 0>
  %1 = fx.lut %0 lo -2 table = dense<[1, 9]> : tensor<2xi32> : !fx.fixed<1, 1, 0> -> !fx.fixed<0, 2, 0>
  func.return
}
// CHECK: fx.lut entries do not fit the result type !fx.fixed<0, 2, 0>
