;; A validation error names the function (index and name) and the byte offset.
;; FAIL: validate %
(module
  (func $ok)
  (func $parse (result i32)
    (f64.const 1)))
