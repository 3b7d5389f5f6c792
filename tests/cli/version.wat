;; --version (and -V) print the name and version.
;; RUN: --version
;; RUN: -V
(module)
