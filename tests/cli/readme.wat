;; How golden CLI tests work (see test_cli_goldens.py).  Each line of the form
;;
;;   ;; RUN: <arguments>     run `wasmaot <arguments>`, expect exit status 0
;;   ;; FAIL: <arguments>    ... expect exit status 1
;;   ;; USAGE: <arguments>   ... expect exit status 2 (bad command line)
;;
;; is one test.  `%` is this file.  The expected output is in readme.wat.stdout
;; and readme.wat.stderr (with several commands: readme.wat.0.stdout, ...); a
;; missing file means no output.  Refresh them with `pytest --update-goldens`
;; and review the diff.
;;
;; RUN: validate %
(module)
