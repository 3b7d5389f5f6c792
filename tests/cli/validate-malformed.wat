;; Decoding errors: binary inputs that are not modules.
;; FAIL: validate inputs/truncated.wasm
;; FAIL: validate inputs/bad-magic.wasm
;; FAIL: validate inputs/empty.wasm
;; RUN: validate %
(module)
