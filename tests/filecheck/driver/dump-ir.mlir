// RUN: rm -rf %t && hgq-opt %s -p 'hgq-standard{baseline=true}' --dump-ir-dir %t > /dev/null
// RUN: ls %t | filecheck %s --check-prefix=FILES
// RUN: filecheck %s --check-prefix=FX < %t/05-lower-hgq-to-fx.mlir
// RUN: hgq-opt %s -p 'hgq-standard{baseline=true}' --print-between-passes | filecheck %s --check-prefix=BETWEEN

// FILES:      00-input.mlir
// FILES-NEXT: 01-hgq-report-baseline.mlir
// FILES-NEXT: 02-hgq-prune.mlir
// FILES-NEXT: 03-hgq-infer-precision.mlir
// FILES-NEXT: 04-canonicalize.mlir
// FILES-NEXT: 05-lower-hgq-to-fx.mlir
// FILES-NEXT: 06-cse.mlir
// FILES-NEXT: 07-dce.mlir
// FILES-NEXT: 08-fx-fuse-ternary.mlir
// FILES-NEXT: 09-lower-fx-to-hw.mlir
// FX: fx.input "inp"[0]
// BETWEEN: IR after hgq-report-baseline:
// BETWEEN: IR after hgq-prune:
// BETWEEN: IR after hgq-infer-precision:
// BETWEEN: IR after canonicalize:
// BETWEEN: IR after lower-hgq-to-fx:
// BETWEEN: IR after cse:
// BETWEEN: IR after dce:
// BETWEEN: IR after fx-fuse-ternary:
// BETWEEN: hw.module @m

func.func @m() {
  %0 = hgq.input "inp" : tensor<1xf32>
  %1 = hgq.quantize %0 TRN SAT k = dense<1> : tensor<1xi32>, i = dense<1> : tensor<1xi32>, f = dense<1> : tensor<1xi32> : tensor<1xf32> -> tensor<1x!hgq.fixed<1, 1, 1>>
  %2 = hgq.const mantissa = dense<[[3]]> : tensor<1x1xi32>, exponent = dense<0> : tensor<1x1xi32> -> tensor<1x1x!hgq.fixed<0, 2, 0>>
  %3 = hgq.dense %1, %2 : tensor<1x!hgq.fixed<1, 1, 1>>, tensor<1x1x!hgq.fixed<0, 2, 0>> -> tensor<1x!hgq.fixed<1, 3, 1>>
  hgq.output "out" %3 : tensor<1x!hgq.fixed<1, 3, 1>>
  func.return
}
