// RUN: rm -rf %t && not hgq-opt %s -t verilog -o %t -p 'hgq-standard{max-width=8}' 2>&1 | filecheck %s --check-prefix=WIDTH
// RUN: not test -e %t
// RUN: not hgq-opt %s -t verilog -o %t -p cse 2>&1 | filecheck %s --check-prefix=NOLOWER
// RUN: not test -e %t
// RUN: not hgq-opt %s -t verilog 2>&1 | filecheck %s --check-prefix=NODIR
// RUN: not hgq-opt %s -p 'hgq-standard{dense=magic}' 2>&1 | filecheck %s --check-prefix=SOLVER
// RUN: hgq-opt %s -t verilog -o %t | filecheck %s --check-prefix=TABLE
// RUN: filecheck %s --check-prefix=VERILOG < %t/wide.v

// WIDTH: hgq-opt: layer 'd': an exact value needs {{[0-9]+}} bits, more than max-width=8
// NOLOWER: hgq-opt: the Verilog target needs exactly one hw.module, found 0 (it still holds func.func, func.return, hgq.const, hgq.dense, hgq.input, hgq.output, hgq.quantize: lower it first, e.g. -p hgq-standard)
// NODIR: hgq-opt: -t verilog needs -o DIR
// SOLVER: hgq-opt: hgq-standard: unknown dense=magic (choose from cse, csd)
// TABLE: total
// TABLE: latency 0 cycles
// VERILOG: module wide (
// VERILOG-NEXT: input wire [11:0] inp,
// VERILOG-NEXT: output wire [{{[0-9]+}}:0] out
// VERILOG: endmodule

func.func @wide() {
  %0 = hgq.input "inp" : tensor<2xf32>
  %1 = hgq.quantize %0 RND WRAP k = dense<1> : tensor<2xi32>, i = dense<3> : tensor<2xi32>, f = dense<2> : tensor<2xi32> : tensor<2xf32> -> tensor<2x!hgq.fixed<1, 3, 2>>
  %2 = hgq.const mantissa = dense<[[7, 3], [-5, 1]]> : tensor<2x2xi32>, exponent = dense<0> : tensor<2x2xi32> -> tensor<2x2x!hgq.fixed<1, 3, 0>>
  %3 = hgq.dense %1, %2 {layer = "d"} : tensor<2x!hgq.fixed<1, 3, 2>>, tensor<2x2x!hgq.fixed<1, 3, 0>> -> tensor<2x!hgq.fixed<1, 7, 2>>
  hgq.output "out" %3 : tensor<2x!hgq.fixed<1, 7, 2>>
  func.return
}
