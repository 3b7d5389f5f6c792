"""The compile pipeline below `wasmaot.api`: module bytes to objects (`compile`,
`llvm`, `rawobject`), targets and CPU levels (`targets`, `cpu`, `host`), the C
toolchain and the runtime it builds (`toolchain`, `sources`, `cache`), linking
(`link`), and the build configuration with its grants (`build_config`, `grants`); the
`wasmaot` command's native launcher (`launcher`) and the forms of `wasmaot run` it
shares with the Python fast path (`run_forms`).

Nothing here imports `wasmaot.api` or `wasmaot.commands` (the commands are built
on top of both; tests/driver/test_layers.py checks it), and nothing here prints:
errors are raised as `wasmaot.errors.WasmError` and the CLI reports them.
"""
