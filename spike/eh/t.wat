(module
  (func $g (param i32) (result i32) local.get 0 i32.const 1 i32.add)
  (func $f (export "f") (param i32) (result i32) local.get 0 call $g return_call $g)
  (func (export "_start") i32.const 3 call $f drop))
