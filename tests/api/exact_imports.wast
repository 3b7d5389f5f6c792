;; Custom descriptors: an import of an exact reference or function type admits
;; that type only, never a strict subtype (and, for references, the bottom of
;; the hierarchy).  One case per import-type check: functions, immutable
;; globals (covariant), mutable globals and tables (invariant).

(module $M
  (type $super (sub (func)))
  (type $sub (sub $super (func)))
  (func $fsuper (export "f-super") (type $super))
  (func $fsub (export "f-sub") (type $sub))
  (global (export "g-sub-exact") (ref (exact $sub)) (ref.func $fsub))
  (global (export "g-sub") (ref $sub) (ref.func $fsub))
  (global (export "g-super-exact") (ref (exact $super)) (ref.func $fsuper))
  (global (export "g-super") (ref $super) (ref.func $fsuper))
  (global (export "g-bottom") (ref null nofunc) (ref.null nofunc))
  (global (export "gm-super-exact") (mut (ref null (exact $super))) (ref.func $fsuper))
  (global (export "gm-super") (mut (ref null $super)) (ref.func $fsuper))
  (table (export "t-super-exact") 1 (ref null (exact $super)))
  (table (export "t-super") 1 (ref null $super))
  (table (export "t-sub-exact") 1 (ref null (exact $sub)))
)
(register "M")

;; Functions.
(module
  (type $super (sub (func)))
  (type $sub (sub $super (func)))
  (import "M" "f-super" (func (exact (type $super))))
  (import "M" "f-sub" (func (exact (type $sub))))
  (import "M" "f-sub" (func (type $super)))
)
(assert_unlinkable
  (module
    (type $super (sub (func)))
    (type $sub (sub $super (func)))
    (import "M" "f-sub" (func (exact (type $super)))))
  "incompatible import type")

;; Immutable globals: a subtype will do, and below an exact type are only the
;; type itself, exactly, and the bottom.
(module
  (type $super (sub (func)))
  (type $sub (sub $super (func)))
  (import "M" "g-super-exact" (global (ref (exact $super))))
  (import "M" "g-sub-exact" (global (ref (exact $sub))))
  (import "M" "g-sub-exact" (global (ref $super)))
  (import "M" "g-sub" (global (ref $super)))
  (import "M" "g-bottom" (global (ref null (exact $super))))
)
(assert_unlinkable
  (module
    (type $super (sub (func)))
    (type $sub (sub $super (func)))
    (import "M" "g-sub-exact" (global (ref (exact $super)))))
  "incompatible import type")
(assert_unlinkable
  (module
    (type $super (sub (func)))
    (type $sub (sub $super (func)))
    (import "M" "g-sub" (global (ref (exact $super)))))
  "incompatible import type")
(assert_unlinkable
  (module
    (type $super (sub (func)))
    (import "M" "g-super" (global (ref (exact $super)))))
  "incompatible import type")

;; Mutable globals: the types must be equal.
(module
  (type $super (sub (func)))
  (import "M" "gm-super-exact" (global (mut (ref null (exact $super)))))
  (import "M" "gm-super" (global (mut (ref null $super))))
)
(assert_unlinkable
  (module
    (type $super (sub (func)))
    (import "M" "gm-super-exact" (global (mut (ref null $super)))))
  "incompatible import type")
(assert_unlinkable
  (module
    (type $super (sub (func)))
    (import "M" "gm-super" (global (mut (ref null (exact $super))))))
  "incompatible import type")

;; Tables: the element types must be equal.
(module
  (type $super (sub (func)))
  (type $sub (sub $super (func)))
  (import "M" "t-super-exact" (table 1 (ref null (exact $super))))
  (import "M" "t-super" (table 1 (ref null $super)))
  (import "M" "t-sub-exact" (table 1 (ref null (exact $sub))))
)
(assert_unlinkable
  (module
    (type $super (sub (func)))
    (import "M" "t-super" (table 1 (ref null (exact $super)))))
  "incompatible import type")
(assert_unlinkable
  (module
    (type $super (sub (func)))
    (import "M" "t-super-exact" (table 1 (ref null $super))))
  "incompatible import type")
(assert_unlinkable
  (module
    (type $super (sub (func)))
    (type $sub (sub $super (func)))
    (import "M" "t-sub-exact" (table 1 (ref null (exact $super)))))
  "incompatible import type")
