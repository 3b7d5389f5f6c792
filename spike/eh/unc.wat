(module
  (tag $e (param i32))
  (func (export "_start") i32.const 42 throw $e))
