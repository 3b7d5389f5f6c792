;; At -O0, an out-of-bounds load whose value is unused does not trap.
;; FIXED (first with an asm "force read" of every load at every opt level; now a
;; guard-covered load is volatile, codegen/memory.py); kept as the record of a
;; finding of the harness before it became tools/diff_farm.
;;
;;   wasmtime:        f() traps "out of bounds memory access"
;;   wasmaot -O1/-O2: traps "out of bounds memory access"
;;   wasmaot -O0:     f() returns normally
;;
;; Cause: codegen/module.py sets `force_reads = opt_level > 0`, and codegen/memory.py
;; says "At -O0 nothing is deleted and the asm is omitted".  But LLVM's instruction
;; selector drops a load with no uses even at -O0, so the guard page is never touched.
;; With force_reads on at every level, the 58 mismatches of 400 differential seeds at
;; -O0 (WASMAOT_DIFF_OPT=0 WASMAOT_DIFF_FIRST=5000 WASMAOT_DIFF_SCALE=400) all go away.
;;
;; Reproduce:
;;   .venv/bin/python -c "import wasmaot.api as a; \
;;     a.compile('tests/differential/repros/o0-dropped-load-does-not-trap.wat', opt_level=0) \
;;      .instantiate({}).exports['f']()"          # returns None; should raise Trap
;; Found by: the old tests/differential/diff_harness.py at -O0, seed 5003.
(module
  (memory 1)
  (func (export "f")
    (drop (i32.load (i32.const 65536)))))
