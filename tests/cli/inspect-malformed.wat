;; inspect reports a malformed module the same way validate does.
;; FAIL: inspect inputs/truncated.wasm
;; FAIL: inspect no-such-file.wasm
;; RUN: inspect %
(module)
