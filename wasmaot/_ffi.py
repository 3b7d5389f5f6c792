"""The one place wasmaot declares C to cffi (ABI mode: `ffi.dlopen`, no compiler at import).

The declarations have two parts:

* `abi_cdef()`: generated from `wasmaot.codegen.abi` (the layouts shared with
  generated code, trap codes, descriptor codes), so it cannot drift from the
  header the runtime is compiled with;
* `RUNTIME_CDEF`: written by hand from `runtime_c/include/wasmaot_rt.h` (the
  embedder API).  tests/runtime/test_ffi_contract.py compiles it against the real
  header, so a signature or layout that drifts fails the build.

`load_runtime()` builds the runtime (cached) and loads it ONCE per process with
RTLD_GLOBAL: every compiled module's shared object then resolves its `wasmaot_rt_*`
symbols to that one copy, so all modules share one fault handler, one set of
activations and one type registry.  `load_module_library()` loads a module's .so
afterwards.  `check_trap()` turns a nonzero status + trap report into
`wasmaot.errors.Trap`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import cffi

from wasmaot.codegen import abi
from wasmaot.errors import Trap

# Must equal WASMAOT_TRAP_MAX_FRAMES in wasmaot_rt.h (checked by a test that compiles both).
TRAP_MAX_FRAMES = 64
EXTERN_HOST_FUNC = 16  # WASMAOT_EXTERN_HOST_FUNC
HOST_THROW = 2  # WASMAOT_HOST_THROW: a host callback's "throw the exception I gave"
ERRBUF_SIZE = 512


def abi_cdef() -> str:
    """cffi declarations of everything in `wasmaot_abi.h`, from abi.py's tables."""
    out = [
        "union wasmaot_value { int32_t i32; int64_t i64; float f32; double f64; void *ref; uint8_t v128[16]; };",
        "struct wasmaot_instance;",
        "struct wasmaot_vmctx;",
        "typedef int (*wasmaot_host_callback)(void *data, union wasmaot_value *args, union wasmaot_value *results);",
        "typedef void (*wasmaot_init_fn)(struct wasmaot_vmctx *vmctx);",
        ("typedef void (*wasmaot_entry_fn)(void *code, struct wasmaot_vmctx *vmctx, union wasmaot_value *args,"
         " union wasmaot_value *results);"),
    ]
    for s in abi.STRUCTS:
        fields = " ".join(f"{f.ctype}{'' if f.ctype.endswith('*') else ' '}{f.name};" for f in s.fields)
        out.append(f"struct {s.name} {{ {fields} }};")
    out.append("enum wasmaot_trap { WASMAOT_TRAP_NONE = 0, "
               + ", ".join(f"WASMAOT_TRAP_{name} = {code}" for code, name, _ in abi.TRAPS) + " };")
    out.append(f"#define WASMAOT_ABI_VERSION {abi.ABI_VERSION}")
    for kind, code in abi.EXTERN_KINDS.items():
        out.append(f"#define WASMAOT_EXTERN_{kind.upper()} {code}")
    for name, code in abi.VALTYPE_CODES.items():
        out.append(f"#define WASMAOT_VAL_{name.upper()} {code}")
    return "\n".join(out) + "\n"


# Hand-written from runtime_c/include/wasmaot_rt.h; keep the order of the header.
RUNTIME_CDEF = f"""
#define WASMAOT_TRAP_MAX_FRAMES {TRAP_MAX_FRAMES}
#define WASMAOT_EXTERN_HOST_FUNC {EXTERN_HOST_FUNC}
#define WASMAOT_HOST_THROW {HOST_THROW}

struct wasmaot_config {{
  uint64_t max_memory_bytes;
  uint64_t max_wasm_stack;
  uint64_t explicit_bounds_checks;
  uint64_t max_table_elements;
}};
struct wasmaot_frame {{
  const struct wasmaot_module_desc *module;
  uint64_t func_index;
}};
struct wasmaot_trap_info {{
  int32_t code;
  uint32_t nframes;
  uint64_t total_frames;
  const char *message;
  struct wasmaot_exception *exception;
  struct wasmaot_frame frames[{TRAP_MAX_FRAMES}];
}};
struct wasmaot_global {{
  union wasmaot_value value;
  uint64_t valtype;
  uint64_t mutable;
  uint64_t refcount;
}};
struct wasmaot_extern {{
  uint64_t kind;
  union {{
    const struct wasmaot_funcref *func;
    struct wasmaot_host_func *host;
    struct wasmaot_memory *memory;
    struct wasmaot_table *table;
    struct wasmaot_global *global;
    struct wasmaot_tag *tag;
  }} of;
}};

int wasmaot_runtime_init(const struct wasmaot_config *config);
const char *wasmaot_trap_message(int32_t code);
int wasmaot_rt_register_type(uint64_t id, int64_t super_id);
int64_t wasmaot_rt_reserve_type_ids(uint64_t n);
struct wasmaot_instance *wasmaot_instance_new(const struct wasmaot_module_desc *desc,
    const struct wasmaot_extern *imports, const uint64_t *type_ids, const struct wasmaot_config *config,
    char *errbuf, size_t errlen);
int32_t wasmaot_instance_init(struct wasmaot_instance *inst, struct wasmaot_trap_info *trap);
int wasmaot_set_timeout(uint64_t timeout_ns);
void wasmaot_instance_free(struct wasmaot_instance *inst);
int32_t wasmaot_invoke(wasmaot_entry_fn thunk, const struct wasmaot_funcref *func,
    union wasmaot_value *args, union wasmaot_value *results, struct wasmaot_trap_info *trap);
struct wasmaot_vmctx *wasmaot_instance_vmctx(struct wasmaot_instance *inst);
const struct wasmaot_module_desc *wasmaot_instance_module(struct wasmaot_instance *inst);
struct wasmaot_memory *wasmaot_instance_memory(struct wasmaot_instance *inst, uint64_t index);
struct wasmaot_table *wasmaot_instance_table(struct wasmaot_instance *inst, uint64_t index);
struct wasmaot_global *wasmaot_instance_global(struct wasmaot_instance *inst, uint64_t index);
const struct wasmaot_funcref *wasmaot_instance_func(struct wasmaot_instance *inst, uint64_t index);
struct wasmaot_memory *wasmaot_memory_new(const struct wasmaot_memory_desc *type,
    const struct wasmaot_config *config, char *errbuf, size_t errlen);
int64_t wasmaot_memory_grow(struct wasmaot_memory *mem, uint64_t delta_pages);
int wasmaot_memory_is_guarded(const struct wasmaot_memory *mem);
void wasmaot_memory_retain(struct wasmaot_memory *mem);
void wasmaot_memory_release(struct wasmaot_memory *mem);
struct wasmaot_table *wasmaot_table_new(const struct wasmaot_table_desc *type, void *init,
    const struct wasmaot_config *config, char *errbuf, size_t errlen);
int64_t wasmaot_table_grow(struct wasmaot_table *table, uint64_t delta, void *init);
void wasmaot_table_retain(struct wasmaot_table *table);
void wasmaot_table_release(struct wasmaot_table *table);
struct wasmaot_global *wasmaot_global_new(uint64_t valtype, uint64_t mutable_, const union wasmaot_value *init);
void wasmaot_global_retain(struct wasmaot_global *global);
void wasmaot_global_release(struct wasmaot_global *global);
struct wasmaot_tag *wasmaot_instance_tag(struct wasmaot_instance *inst, uint64_t index);
struct wasmaot_tag *wasmaot_tag_new(uint64_t type_id, uint64_t num_values);
void wasmaot_tag_free(struct wasmaot_tag *tag);
void wasmaot_exception_pin(struct wasmaot_exception *exn);
void wasmaot_exception_unpin(struct wasmaot_exception *exn);
struct wasmaot_exception *wasmaot_exception_load(void *const *cell);
struct wasmaot_exception *wasmaot_exception_load_element(struct wasmaot_table *table, uint64_t index);
struct wasmaot_exception *wasmaot_exception_new(struct wasmaot_tag *tag, const union wasmaot_value *values);
union wasmaot_value *wasmaot_exception_values(struct wasmaot_exception *exn);
int wasmaot_host_throw(struct wasmaot_exception *exn);
uint64_t wasmaot_exceptions_live(void);

void wasmaot_rt_trap(struct wasmaot_vmctx *vmctx, int32_t code);
int64_t wasmaot_rt_memory_grow(struct wasmaot_vmctx *vmctx, int32_t mem, int64_t delta_pages);
void wasmaot_rt_memory_init(struct wasmaot_vmctx *vmctx, int32_t mem, int32_t data,
    int64_t d, int64_t s, int64_t n);
void wasmaot_rt_data_drop(struct wasmaot_vmctx *vmctx, int32_t data);
int64_t wasmaot_rt_table_grow(struct wasmaot_vmctx *vmctx, int32_t table, void *init, int64_t delta);
void wasmaot_rt_table_fill(struct wasmaot_vmctx *vmctx, int32_t table, int64_t i, void *ref, int64_t n);
void wasmaot_rt_table_copy(struct wasmaot_vmctx *vmctx, int32_t dst_table, int32_t src_table,
    int64_t d, int64_t s, int64_t n);
void wasmaot_rt_table_init(struct wasmaot_vmctx *vmctx, int32_t table, int32_t elem,
    int64_t d, int64_t s, int64_t n);
void wasmaot_rt_elem_drop(struct wasmaot_vmctx *vmctx, int32_t elem);
int32_t wasmaot_rt_func_type_matches(struct wasmaot_vmctx *vmctx, int64_t actual, int64_t expected);
void wasmaot_rt_host_call(struct wasmaot_host_func *host, union wasmaot_value *args,
    union wasmaot_value *results);
struct wasmaot_exception *wasmaot_rt_exception_new(struct wasmaot_vmctx *vmctx, int32_t tagidx);
void wasmaot_rt_throw(struct wasmaot_vmctx *vmctx, struct wasmaot_exception *exn);
void wasmaot_rt_exception_free(struct wasmaot_vmctx *vmctx, struct wasmaot_exception *exn);
void wasmaot_rt_exception_escaped(struct wasmaot_vmctx *vmctx, struct wasmaot_exception *exn);
void wasmaot_rt_exception_hand_out(struct wasmaot_vmctx *vmctx, struct wasmaot_exception *exn);

/* Defined by every compiled module's shared object. */
extern struct wasmaot_module_desc wasmaot_module;
"""

ffi = cffi.FFI()
ffi.cdef(abi_cdef())
ffi.cdef(RUNTIME_CDEF)

_lock = threading.Lock()
_runtime = None


def load_runtime(target: str = "host"):
    """The runtime library (built and cached if needed), loaded once per process."""
    global _runtime
    with _lock:
        if _runtime is None:
            from wasmaot.driver.toolchain import runtime_build

            path = runtime_build(target).library
            lib = ffi.dlopen(str(path), ffi.RTLD_NOW | ffi.RTLD_GLOBAL)
            lib.wasmaot_runtime_init(ffi.NULL)
            _runtime = lib
    return _runtime


def load_module_library(path):
    """A compiled module's shared object and its descriptor (`struct wasmaot_module_desc *`).
    Keep the library object alive while any instance of the module exists."""
    load_runtime()
    lib = ffi.dlopen(str(path), ffi.RTLD_NOW | ffi.RTLD_LOCAL)
    return lib, ffi.addressof(lib, "wasmaot_module")


def new_errbuf():
    return ffi.new(f"char[{ERRBUF_SIZE}]")


def errbuf_text(buf) -> str:
    return ffi.string(buf).decode("utf-8", "replace")


def c_string(ptr) -> str | None:
    return None if ptr == ffi.NULL else ffi.string(ptr).decode("utf-8", "replace")


@dataclass(frozen=True)
class TrapFrame:
    """One wasm frame of a trap's backtrace (innermost first)."""

    module: object  # the module's `struct wasmaot_module_desc *`
    func_index: int
    func_name: str | None  # from the name section, if any


def trap_frames(trap_info) -> list[TrapFrame]:
    frames = []
    for i in range(trap_info.nframes):
        f = trap_info.frames[i]
        index = int(f.func_index)
        name = None
        if f.module != ffi.NULL and f.module.func_names != ffi.NULL and index < f.module.num_funcs:
            name = c_string(f.module.func_names[index])
        frames.append(TrapFrame(f.module, index, name))
    return frames


def make_trap(status: int, trap_info) -> Trap:
    """The `Trap` for a nonzero status; `frames`, `total_frames` and `trap_code` attached."""
    if trap_info.message != ffi.NULL:
        message = c_string(trap_info.message)
    else:
        message = c_string(load_runtime().wasmaot_trap_message(status))
    exc = Trap(message)
    exc.trap_code = int(status)
    exc.frames = trap_frames(trap_info)
    exc.total_frames = int(trap_info.total_frames)
    return exc


def check_trap(status: int, trap_info) -> None:
    """Raises `Trap` if a call into wasm returned a nonzero status."""
    if status != 0:
        raise make_trap(status, trap_info)
