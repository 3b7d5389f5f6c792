;; inspect: sections, imports, exports, memories, tables, globals, tags, function
;; counts, the largest functions (with names from the name section), custom sections.
;; RUN: inspect %
;; RUN: inspect --json %
(module $demo
  (type $binop (func (param i32 i32) (result i32)))
  (import "env" "log" (func $log (param i32)))
  (import "env" "mem" (memory 1 16))
  (import "env" "base" (global $base i32))
  (table $funcs (export "funcs") 2 funcref)
  (memory $scratch i64 0 1)
  (global $counter (export "counter") (mut i32) (i32.const 0))
  (global $limit f64 (f64.const 2.5))
  (tag $oops (param i32))
  (export "add" (func $add))
  (elem (table $funcs) (i32.const 0) func $add $mul)
  (func $add (type $binop)
    (i32.add (local.get 0) (local.get 1)))
  (func $mul (type $binop)
    (i32.mul (local.get 0) (local.get 1)))
  (func (export "_start")
    (call $log (call $mul (i32.const 6) (i32.const 7)))
    (global.set $counter (i32.add (global.get $counter) (i32.const 1)))
    (call $log (call_indirect $funcs (type $binop)
      (global.get $base) (i32.const 2) (i32.const 1))))
  (data (memory 0) (i32.const 16) "hello")
  (@custom "producers-note" "made by hand")
)
