;; A syntax error in text input is reported by us, on one line, with its location.
;; FAIL: validate %
;; FAIL: inspect %
(module
  (func (result i32)
    i32.const 1
    i32.frobnicate))
