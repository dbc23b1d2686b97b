// Names reach file names and Verilog only legalized: ASCII identifiers, no keywords, unique.
// RUN: rm -rf %t && hgq-opt %s -t verilog -o %t > /dev/null
// RUN: ls %t | filecheck %s --check-prefix=FILES
// RUN: filecheck %s --check-prefix=VERILOG < %t/p____tmp_x__display__INJECTED__.v
// RUN: filecheck %s --check-prefix=MANIFEST < %t/p____tmp_x__display__INJECTED__.json

// FILES: p____tmp_x__display__INJECTED__.json
// FILES: p____tmp_x__display__INJECTED__.v
// FILES: report.json

// VERILOG:      module p____tmp_x__display__INJECTED__ (
// VERILOG-NEXT:   input wire [3:0] module_,
// VERILOG-NEXT:   input wire [3:0] a_b,
// VERILOG-NEXT:   output wire [3:0] a_b_1
// VERILOG-NEXT: );
// VERILOG-NOT:  $display
// VERILOG:      endmodule

// MANIFEST: "top": "p____tmp_x__display__INJECTED__",

hw.module @"/../tmp/x;$display(\22INJECTED\22)"(in %a "module": i4, in %b "a-b": i4, out "a b": i4) attributes {hgq.interface = {latency = 0 : i64, ports = {"module" = array<i64: 0, 4, 1, 0>, "a-b" = array<i64: 0, 4, 1, 0>, "a b" = array<i64: 0, 4, 1, 0>}}} {
  %s = comb.add %a, %b : i4
  hw.output %s : i4
}
