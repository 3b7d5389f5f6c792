;; Many files in one process: one line per file, in order; exit 1 if any is rejected.
;; FAIL: validate % validate-valid.wat validate-invalid.wat inputs/truncated.wasm no-such-file.wasm wat-syntax-error.wat readme.wat
;; RUN: validate % validate-valid.wat readme.wat
(module (func (export "_start")))
