;; A valid module: one line saying so, exit status 0.
;; RUN: validate %
(module
  (func $add (export "add") (param i32 i32) (result i32)
    (i32.add (local.get 0) (local.get 1))))
