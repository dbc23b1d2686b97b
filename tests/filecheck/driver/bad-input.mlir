// RUN: not hgq-opt %s -p no-such-pass 2>&1 | filecheck %s --check-prefix=PASS
// RUN: not hgq-opt %s -p 'cse{bogus=1}' 2>&1 | filecheck %s --check-prefix=OPT
// RUN: not hgq-opt %S/missing.keras 2>&1 | filecheck %s --check-prefix=FILE
// RUN: printf 'not a zip' > %t.keras && not hgq-opt %t.keras 2>&1 | filecheck %s --check-prefix=CORRUPT
// RUN: not hgq-opt %S/Inputs/malformed.mlir 2>&1 | filecheck %s --check-prefix=PARSE

// PASS: hgq-opt: {{.*}}no-such-pass
// PASS-NOT: Traceback
// OPT: hgq-opt: bad pass pipeline {{.*}}bogus
// OPT-NOT: Traceback
// FILE: hgq-opt: {{.*}}missing.keras: no such input file
// CORRUPT: hgq-opt: {{.*}}.keras: not a Keras model (a .keras file is a zip archive)
// CORRUPT-NOT: Traceback
// PARSE: {{.*}}malformed.mlir:{{[0-9]+}}:{{[0-9]+}}: error:
// PARSE-NOT: Traceback

func.func @f() {
  func.return
}
