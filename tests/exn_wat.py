"""WAT functions that the exception-collector tests share (tests/api and tests/wasi):
they need a tag `$t` with an i64 payload in the module they are pasted into."""

# $make: an exnref to a new exception of $t with payload v.
# $payload: the payload of an exnref of $t, by throwing it again and catching it.
# $churn: throws and catches n exceptions of $t (payloads n..1), dropping each
# exnref, and returns the sum of the payloads.
EXN_FUNCS = """
  (func $make (export "make") (param $v i64) (result exnref)
    (block $h (result i64 exnref)
      (try_table (catch_ref $t $h) (throw $t (local.get $v)))
      (unreachable))
    (return))
  (func $payload (export "payload") (param $e exnref) (result i64)
    (block $h (result i64)
      (try_table (catch $t $h) (throw_ref (local.get $e)))
      (unreachable)))
  (func $churn (export "churn") (param $n i32) (result i64)
    (local $sum i64)
    (block $done
      (loop $again
        (br_if $done (i32.eqz (local.get $n)))
        (block $h (result i64 exnref)
          (try_table (catch_ref $t $h) (throw $t (i64.extend_i32_u (local.get $n))))
          (unreachable))
        (drop)
        (local.set $sum (i64.add (local.get $sum)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $again)))
    (local.get $sum))
"""
