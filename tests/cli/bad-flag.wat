;; Bad command lines are click's usage errors, exit status 2.
;; USAGE: validate --frobnicate %
;; USAGE: inspect
;; USAGE: validate
;; USAGE: frobnicate %
(module)
