/* Stands in for <setjmp.h> in the Lua build of bench/run.py: ldo.c includes it
 * unconditionally, but with LUAI_THROW/LUAI_TRY defined (run.py) it uses nothing of it, and
 * wasm32-wasi's <setjmp.h> is an #error without the exception-handling proposal. The same
 * shim is on the include path of every build, so native and wasm compile the same C. */
#ifndef BENCH_LUA_SHIM_SETJMP_H
#define BENCH_LUA_SHIM_SETJMP_H
#endif
