;; hello.wat: writes "Hello, world!" to stdout through WASI and exits.
;; `make demo` validates and inspects it.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit"
    (func $proc_exit (param i32)))

  (memory (export "memory") 1)

  ;; The iovec {buf = 16, len = 14} at 0, the message at 16.
  (data (i32.const 0) "\10\00\00\00\0e\00\00\00")
  (data (i32.const 16) "Hello, world!\n")

  (func $main (export "_start")
    (local $errno i32)
    (local.set $errno
      (call $fd_write
        (i32.const 1)    ;; fd: stdout
        (i32.const 0)    ;; iovs
        (i32.const 1)    ;; iovs_len
        (i32.const 8)))  ;; where to store nwritten: right after the iovec
    (call $proc_exit (local.get $errno)))
)
