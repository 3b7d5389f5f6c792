;; --quiet prints nothing for valid files, and still reports rejected ones.
;; RUN: validate --quiet %
;; RUN: validate -q % validate-valid.wat
;; FAIL: validate --quiet % validate-invalid.wat
(module (memory 1))
