"""The commands of the CLI, on top of the pipeline (`wasmaot.driver`) and the
embedding API (`wasmaot.api`): `build` an executable (and its `manifest`),
`run` one from the cache, run a spec script (`wast`, and `wast_remote` for the
test executables of other targets), `inspect` a module; `inputs` and
`duration` read what the user gives.

Nothing here prints either: errors are `wasmaot.errors.WasmError`, reported
as one line by `wasmaot.cli`.
"""
