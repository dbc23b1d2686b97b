// RUN: hgq-opt %s | hgq-opt | filecheck %s
// RUN: hgq-opt %s -p lower-hgq-to-fx | filecheck %s --check-prefix=FX

func.func @merge() {
  %0 = hgq.input "inp" : tensor<2xf32>
  %1 = hgq.quantize %0 RND WRAP k = dense<1> : tensor<2xi32>, i = dense<2> : tensor<2xi32>, f = dense<1> : tensor<2xi32> : tensor<2xf32> -> tensor<2x!hgq.fixed<1, 2, 1>>
  %2 = hgq.quantize %1 TRN SAT k = dense<0> : tensor<2xi32>, i = dense<1> : tensor<2xi32>, f = dense<2> : tensor<2xi32> : tensor<2x!hgq.fixed<1, 2, 1>> -> tensor<2x!hgq.fixed<0, 1, 2>>
  %3 = hgq.add %1, %2 : tensor<2x!hgq.fixed<1, 2, 1>>, tensor<2x!hgq.fixed<0, 1, 2>> -> tensor<2x!hgq.fixed<1, 3, 2>>
  %4 = hgq.sub %3, %2 : tensor<2x!hgq.fixed<1, 3, 2>>, tensor<2x!hgq.fixed<0, 1, 2>> -> tensor<2x!hgq.fixed<1, 3, 2>>
  %5 = hgq.max %4, %1 : tensor<2x!hgq.fixed<1, 3, 2>>, tensor<2x!hgq.fixed<1, 2, 1>> -> tensor<2x!hgq.fixed<1, 3, 2>>
  %6 = hgq.min %5, %2 : tensor<2x!hgq.fixed<1, 3, 2>>, tensor<2x!hgq.fixed<0, 1, 2>> -> tensor<2x!hgq.fixed<1, 1, 2>>
  hgq.output "out" %6 : tensor<2x!hgq.fixed<1, 1, 2>>
  func.return
}

// CHECK: hgq.add %1, %2 : tensor<2x!hgq.fixed<1, 2, 1>>, tensor<2x!hgq.fixed<0, 1, 2>> -> tensor<2x!hgq.fixed<1, 3, 2>>
// CHECK: hgq.sub
// CHECK: hgq.max
// CHECK: hgq.min

// FX-COUNT-2: fx.add
// FX-COUNT-2: fx.sub
// FX-COUNT-2: fx.max
// FX-COUNT-2: fx.min
