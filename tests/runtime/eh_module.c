/* The descriptor of the exception test module; its code is LLVM IR (eh_module.py
 * documents the index spaces).  -DEH_IMPORT_TAG: tag 0 is imported ("env" "tag").
 */
#include <stdint.h>

#include "wasmaot_rt.h"

/* Defined by the IR (hidden: not exported from the shared object). */
#define CODE(name) extern char name[] __attribute__((visibility("hidden")))
CODE(eh_thrower);
CODE(eh_mid);
CODE(eh_catch0);
CODE(eh_outer);
CODE(eh_deep);
CODE(eh_start);
CODE(eh_to_limit);
CODE(eh_adapter0);
void eh_thunk1(void *, struct wasmaot_vmctx *, union wasmaot_value *, union wasmaot_value *)
    __attribute__((visibility("hidden")));
void eh_thunk1_nocatch(void *, struct wasmaot_vmctx *, union wasmaot_value *, union wasmaot_value *)
    __attribute__((visibility("hidden")));
void eh_thunk4(void *, struct wasmaot_vmctx *, union wasmaot_value *, union wasmaot_value *)
    __attribute__((visibility("hidden")));

static const uint64_t type_canon[] = {0, 1, 2, 3, 4};
static const int64_t type_super[] = {-1, -1, -1, -1, -1};
static void *const func_code[] = {0,        eh_thrower, eh_mid,  eh_catch0,
                                  eh_outer, eh_deep,    eh_start, eh_to_limit};
#define NUM_FUNCS (sizeof func_code / sizeof func_code[0])
static const uint64_t func_type[NUM_FUNCS] = {0, 1, 1, 1, 1, 1, 4, 1};
static void *const host_adapters[] = {eh_adapter0};
static const char *const func_names[NUM_FUNCS] = {
    "host", "thrower", "mid", "catch0", "outer", "deep", "start", "to_limit",
};
static const struct wasmaot_global_desc globals[] = {{WASMAOT_VAL_EXNREF, 1}};
/* [2]: not a function type; a broken thunk for type 1 (eh_module.py). */
static const wasmaot_entry_fn entry_thunks[] = {0, eh_thunk1, eh_thunk1_nocatch, 0, eh_thunk4};
static const struct wasmaot_tag_desc tags[] = {{2, 2}, {3, 1}, {2, 2}};
static const struct wasmaot_import_desc imports[] = {
    {"env", "host", WASMAOT_EXTERN_FUNC, 0, 0},
#ifdef EH_IMPORT_TAG
    {"env", "tag", WASMAOT_EXTERN_TAG, 0, 0},
#endif
};
static const struct wasmaot_export_desc exports[] = {
    {"_start", WASMAOT_EXTERN_FUNC, 6}, {"outer", WASMAOT_EXTERN_FUNC, 4},
    {"tag0", WASMAOT_EXTERN_TAG, 0},    {"tag1", WASMAOT_EXTERN_TAG, 1},
};

__attribute__((visibility("default"))) const struct wasmaot_module_desc wasmaot_module = {
    .abi_version = WASMAOT_ABI_VERSION,
    .num_types = 5,
    .type_canon = type_canon,
    .type_super = type_super,
    .num_funcs = NUM_FUNCS,
    .num_imported_funcs = 1,
    .func_code = func_code,
    .func_type = func_type,
    .host_adapters = host_adapters,
    .func_names = func_names,
    .num_globals = 1,
    .globals = globals,
    .start = -1,
    .entry_thunks = entry_thunks,
    .num_imports = sizeof imports / sizeof imports[0],
    .imports = imports,
    .num_exports = sizeof exports / sizeof exports[0],
    .exports = exports,
    .num_tags = 3,
#ifdef EH_IMPORT_TAG
    .num_imported_tags = 1,
#endif
    .tags = tags,
};
