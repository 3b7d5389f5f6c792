;; Files that cannot be read: one line each, exit status 1; the rest still run.
;; FAIL: validate no-such-file.wasm
;; FAIL: validate inputs %
;; FAIL: validate no-such-file.wat
(module)
