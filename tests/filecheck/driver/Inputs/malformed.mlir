func.func @f() {
  %0 = hgq.input 3 : tensor<2xf32>
}
