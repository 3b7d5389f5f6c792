;; Throw+catch across $n frames, $iters times (issue 10 spike: wasmtime's cost per throw).
(module
  (tag $a (param i32))
  (func $rec (param $n i32) (result i32)
    (if (i32.eqz (local.get $n)) (then (throw $a (i32.const 1))))
    (i32.add (call $rec (i32.sub (local.get $n) (i32.const 1))) (i32.const 1)))
  (func (export "run") (param $n i32) (param $iters i32) (result i32)
    (local $i i32) (local $cnt i32)
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $iters)))
        (block $h (result i32)
          (try_table (catch $a $h)
            (drop (call $rec (i32.sub (local.get $n) (i32.const 1)))))
          (i32.const 0))
        (local.set $cnt (i32.add (local.get $cnt)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (local.get $cnt)))
