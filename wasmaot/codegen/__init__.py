"""The backend: lowering validated modules to LLVM IR.

`abi` is the one definition of what generated code and the C runtime share;
`module` lowers a module (descriptor, thunks, adapters), `function` a function
body, with `numeric`, `memory` and `table` for the instruction families."""
