;; Exits with the sign bit of 0/0 (tests/codegen/test_deterministic.py): 1 on x86-64
;; without --deterministic, 0 with it on every target.
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (call $exit (i32.shr_u (i32.reinterpret_f32 (f32.div (f32.convert_i32_s (global.get $z)) (f32.convert_i32_s (global.get $z)))) (i32.const 31))))
  (global $z (mut i32) (i32.const 0)))
