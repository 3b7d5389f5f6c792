"""The driver: everything between the command line and the compiler stages.

`inputs` reads a module from a file (binary or text), `wat` runs the external
text-format parser, `inspect` builds the report of `wasmaot inspect`.  Nothing
here prints: errors are raised as `wasmaot.errors.WasmError` (or `OSError` for a
file that cannot be read) and the CLI reports them.
"""
