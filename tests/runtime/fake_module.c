/* A hand-written stand-in for a compiled module, to test the runtime before codegen exists.
 *
 * It defines `wasmaot_module` as generated code would, with C functions in place
 * of wasm functions (C calling convention instead of tailcc; each keeps the
 * frame pointer and does the stack-limit prologue check generated code does).
 * Variants are chosen with -D:
 *   FAKE_IMPORT_MEMORY  memory 0 is imported ("env" "mem") instead of defined
 *   FAKE_EXPLICIT_CHECKS  its descriptor says the code checks memory bounds itself
 *   FAKE_START          a start function writes mem[100] = 0x5A and bumps global 0
 *   FAKE_INIT_OOB       a second active data segment is out of bounds: init traps
 *                       after the first one was written
 *
 * Index spaces:
 *   types  0 [] -> []        1 [i32] -> [i32]       2 [i32 i32] -> [i32]
 *          3 [i64 x4] -> [i64]                      4 [i32] -> [i32], subtype of 1
 *   funcs  0 host (import env.host, type 1)
 *          1 load(addr)                 2 store(addr, val)       3 recurse(n)
 *          4 recurse_big(n)             5 div(a, b)              6 call_host(x)
 *          7 outer(x) -> 8 middle(x) -> 9 inner(x)              10 op(op, a, b, c)
 *          11 call_indirect(idx, x)     12 tripled(x) (type 4)   13 crash_null(x)
 *          14 start()                   15 read_global(x)        16 load_off(addr, offset)
 *   memory 0: 1..4 pages      table 0: 4..10 funcref      global 0: mut i32 (42 after init)
 *   data   0 "hello" active at 0    1 "world!" passive    (2 "oops!" active at 65534)
 *   elem   0 active at 0: [inner, tripled, div]    1 passive: [read_global, tripled, inner]
 */
#include <stdint.h>

#include "wasmaot_rt.h"

#define WASM __attribute__((noinline))
typedef struct wasmaot_vmctx vmctx;

/* The check every generated prologue makes. */
#define PROLOGUE(vm)                                                       \
  do {                                                                     \
    if ((uintptr_t)__builtin_frame_address(0) < *(vm)->stack_limit)        \
      wasmaot_rt_trap((vm), WASMAOT_TRAP_STACK_EXHAUSTED);                 \
  } while (0)

#ifndef BIG_FRAME
#define BIG_FRAME (1024 * 1024)
#endif

static uint8_t *mem0(vmctx *vm) { return vm->memories[0]->base; }

static WASM int32_t load(vmctx *vm, int32_t addr) {
  PROLOGUE(vm);
  return *(volatile int32_t *)(mem0(vm) + (uint32_t)addr);
}

static WASM int32_t store(vmctx *vm, int32_t addr, int32_t val) {
  PROLOGUE(vm);
  *(volatile int32_t *)(mem0(vm) + (uint32_t)addr) = val;
  return 0;
}

static WASM int32_t load_off(vmctx *vm, int32_t addr, int32_t offset) {
  PROLOGUE(vm);
  /* Unchecked, as guard-page code: base + zext(addr) + zext(offset), 8 bytes. */
  return (int32_t) * (volatile int64_t *)(mem0(vm) + (uint64_t)(uint32_t)addr + (uint32_t)offset);
}

static WASM int32_t recurse(vmctx *vm, int32_t n) {
  PROLOGUE(vm);
  if (n == 0) return 0;
  volatile int32_t keep = n; /* not a tail call: no loop */
  int32_t r = recurse(vm, n - 1);
  return r + (keep != 0);
}

/* Not wasm: keeps the big frame's array alive (it escapes). */
__attribute__((noinline)) static void touch(volatile uint8_t *p, int32_t n) {
  p[0] = (uint8_t)n;
  p[BIG_FRAME - 1] = (uint8_t)n;
}

static WASM int32_t recurse_big(vmctx *vm, int32_t n) {
  PROLOGUE(vm);
  volatile uint8_t buf[BIG_FRAME];
  touch(buf, n);
  if (n == 0) return 0;
  int32_t r = recurse_big(vm, n - 1);
  return r + buf[0] + buf[BIG_FRAME - 1];
}

static WASM int32_t div_(vmctx *vm, int32_t a, int32_t b) {
  PROLOGUE(vm);
  volatile int32_t d = b; /* a real idiv: SIGFPE when zero */
  return a / d;
}

static WASM int32_t call_host(vmctx *vm, int32_t x) {
  PROLOGUE(vm);
  struct wasmaot_funcref *f = &vm->funcs[0];
  int32_t r = ((int32_t(*)(vmctx *, int32_t))f->code)(f->vmctx, x);
  return r + 0 * *(volatile int32_t *)&x;
}

static WASM int32_t inner(vmctx *vm, int32_t x) {
  PROLOGUE(vm);
  if (x == 1) wasmaot_rt_trap(vm, WASMAOT_TRAP_UNREACHABLE);
  int32_t r = x;
  if (x == 2) r = load(vm, (int32_t)0xFFFFFFF0u);
  if (x == 3) r = call_host(vm, x);
  return r + 0 * *(volatile int32_t *)&x; /* not tail calls: keep this frame */
}

static WASM int32_t middle(vmctx *vm, int32_t x) {
  PROLOGUE(vm);
  int32_t r = inner(vm, x);
  return r + 0 * *(volatile int32_t *)&x;
}

static WASM int32_t outer(vmctx *vm, int32_t x) {
  PROLOGUE(vm);
  int32_t r = middle(vm, x);
  return r + 0 * *(volatile int32_t *)&x;
}

static WASM int32_t tripled(vmctx *vm, int32_t x) {
  PROLOGUE(vm);
  return 3 * x;
}

static WASM int32_t crash_null(vmctx *vm, int32_t x) {
  PROLOGUE(vm);
  *(volatile int32_t *)(uintptr_t)16 = x; /* not in any reservation: a real bug */
  return 0;
}

static WASM void start(vmctx *vm) {
  PROLOGUE(vm);
  mem0(vm)[100] = 0x5A;
  vm->globals[0]->i32 += 1;
}

static WASM int32_t read_global(vmctx *vm, int32_t x) {
  PROLOGUE(vm);
  return vm->globals[0]->i32 + x;
}

static WASM int32_t call_indirect(vmctx *vm, int32_t idx, int32_t x) {
  PROLOGUE(vm);
  struct wasmaot_table *t = vm->tables[0];
  if ((uint64_t)(uint32_t)idx >= t->size) wasmaot_rt_trap(vm, WASMAOT_TRAP_TABLE_OOB);
  struct wasmaot_funcref *f = t->elems[(uint32_t)idx];
  if (f == 0) wasmaot_rt_trap(vm, WASMAOT_TRAP_UNINITIALIZED_ELEMENT);
  uint64_t expected = vm->type_ids[1];
  if (f->type_id != expected &&
      !wasmaot_rt_func_type_matches(vm, (int64_t)f->type_id, (int64_t)expected))
    wasmaot_rt_trap(vm, WASMAOT_TRAP_INDIRECT_CALL_TYPE);
  int32_t r = ((int32_t(*)(vmctx *, int32_t))f->code)(f->vmctx, x);
  return r + 0 * *(volatile int32_t *)&x;
}

static void *ref_or_null(vmctx *vm, int64_t func) { return func < 0 ? 0 : &vm->funcs[func]; }

/* One entry point for the runtime's bulk operations; see the switch. */
static WASM int64_t op(vmctx *vm, int64_t op, int64_t a, int64_t b, int64_t c) {
  PROLOGUE(vm);
  struct wasmaot_table *t = vm->tables[0];
  switch (op) {
    /* 0, 1: memory.fill and memory.copy, now inline in generated code */
    case 2: wasmaot_rt_memory_init(vm, 0, 1, a, b, c); return 0;
    case 3: wasmaot_rt_data_drop(vm, 1); return 0;
    case 4: return wasmaot_rt_memory_grow(vm, 0, a);
    case 5: return wasmaot_rt_table_grow(vm, 0, ref_or_null(vm, a), b);
    case 6: wasmaot_rt_table_fill(vm, 0, a, ref_or_null(vm, b), c); return 0;
    case 7: wasmaot_rt_table_copy(vm, 0, 0, a, b, c); return 0;
    case 8: wasmaot_rt_table_init(vm, 0, 1, a, b, c); return 0;
    case 9: wasmaot_rt_elem_drop(vm, 1); return 0;
    case 10: return (int64_t)t->size;
    case 11: {
      if ((uint64_t)a >= t->size) wasmaot_rt_trap(vm, WASMAOT_TRAP_TABLE_OOB);
      struct wasmaot_funcref *f = t->elems[a];
      return f ? f - vm->funcs : -1;
    }
    case 12: return (int64_t)vm->memories[0]->pages;
    case 13: return wasmaot_rt_func_type_matches(vm, a, b);
    case 14: wasmaot_rt_trap(vm, (int32_t)a);
    default: return -1;
  }
}

/* --- thunks and adapters ----------------------------------------------------------- */

typedef union wasmaot_value val;

static void thunk0(void *code, vmctx *vm, val *args, val *res) {
  (void)args, (void)res;
  ((void (*)(vmctx *))code)(vm);
}
static void thunk1(void *code, vmctx *vm, val *args, val *res) {
  res[0].i32 = ((int32_t(*)(vmctx *, int32_t))code)(vm, args[0].i32);
}
static void thunk2(void *code, vmctx *vm, val *args, val *res) {
  res[0].i32 = ((int32_t(*)(vmctx *, int32_t, int32_t))code)(vm, args[0].i32, args[1].i32);
}
static void thunk3(void *code, vmctx *vm, val *args, val *res) {
  res[0].i64 = ((int64_t(*)(vmctx *, int64_t, int64_t, int64_t, int64_t))code)(
      vm, args[0].i64, args[1].i64, args[2].i64, args[3].i64);
}

/* Host adapter for an [i32] -> [i32] import: vmctx is the host record. */
static int32_t adapter1(vmctx *record, int32_t x) {
  val args[1] = {{.i64 = 0}}, res[1] = {{.i64 = 0}};
  args[0].i32 = x;
  wasmaot_rt_host_call((struct wasmaot_host_func *)record, args, res);
  return res[0].i32;
}

/* --- the descriptor ------------------------------------------------------------------- */

static void init(vmctx *vm);

static const uint64_t type_canon[] = {0, 1, 2, 3, 4};
static const int64_t type_super[] = {-1, -1, -1, -1, 1};
static void *const func_code[] = {
    0, (void *)load, (void *)store, (void *)recurse, (void *)recurse_big, (void *)div_,
    (void *)call_host, (void *)outer, (void *)middle, (void *)inner, (void *)op,
    (void *)call_indirect, (void *)tripled, (void *)crash_null, (void *)start,
    (void *)read_global, (void *)load_off,
};
#define NUM_FUNCS (sizeof func_code / sizeof func_code[0])
static const uint64_t func_type[NUM_FUNCS] = {1, 1, 2, 1, 1, 2, 1, 1, 1, 1, 3, 2, 4, 1, 0, 1, 2};
static void *const host_adapters[] = {(void *)adapter1};
static const char *const func_names[NUM_FUNCS] = {
    "host", "load", "store", "recurse", "recurse_big", "div", "call_host", "outer", "middle",
    "inner", "op", "call_indirect", "tripled", "crash_null", "start", "read_global", "load_off",
};
#ifndef FAKE_MEM_MAX
#define FAKE_MEM_MAX 4
#endif
#ifndef FAKE_EXPLICIT_CHECKS
#define FAKE_EXPLICIT_CHECKS 0
#endif
static const struct wasmaot_memory_desc memories[] = {
    {1, FAKE_MEM_MAX, 0, 16, 0, FAKE_EXPLICIT_CHECKS, 0}};
static const struct wasmaot_table_desc tables[] = {{4, 10, 0, WASMAOT_VAL_FUNCREF}};
static const struct wasmaot_global_desc globals[] = {{WASMAOT_VAL_I32, 1}};
static const struct wasmaot_segment datas[] = {{"hello", 5}, {"world!", 6}, {"oops!", 5}};
static const uint64_t elem_lengths[] = {3, 3};
static const wasmaot_entry_fn entry_thunks[] = {thunk0, thunk1, thunk2, thunk3, thunk1};
static const struct wasmaot_import_desc imports[] = {
    {"env", "host", WASMAOT_EXTERN_FUNC, 0, 0},
#ifdef FAKE_IMPORT_MEMORY
    {"env", "mem", WASMAOT_EXTERN_MEMORY, 0, 0},
#endif
};
static const struct wasmaot_export_desc exports[] = {
    {"load", WASMAOT_EXTERN_FUNC, 1}, {"mem", WASMAOT_EXTERN_MEMORY, 0},
};

static void init(vmctx *vm) {
  vm->globals[0]->i32 = 42;
  void **e0 = (void **)vm->elems[0].data, **e1 = (void **)vm->elems[1].data;
  e0[0] = &vm->funcs[9], e0[1] = &vm->funcs[12], e0[2] = &vm->funcs[5];
  e1[0] = &vm->funcs[15], e1[1] = &vm->funcs[12], e1[2] = &vm->funcs[9];
  /* Spec order: element segments, then data segments. */
  wasmaot_rt_table_init(vm, 0, 0, 0, 0, 3);
  wasmaot_rt_elem_drop(vm, 0);
  wasmaot_rt_memory_init(vm, 0, 0, 0, 0, 5);
  wasmaot_rt_data_drop(vm, 0);
#ifdef FAKE_INIT_OOB
  wasmaot_rt_memory_init(vm, 0, 2, 65534, 0, 5);
  wasmaot_rt_data_drop(vm, 2);
#endif
}

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
    .num_memories = 1,
#ifdef FAKE_IMPORT_MEMORY
    .num_imported_memories = 1,
#else
    .num_imported_memories = 0,
#endif
    .memories = memories,
    .num_tables = 1,
    .num_imported_tables = 0,
    .tables = tables,
    .num_globals = 1,
    .num_imported_globals = 0,
    .globals = globals,
    .num_datas = 3,
    .datas = datas,
    .num_elems = 2,
    .elem_lengths = elem_lengths,
    .init = init,
#ifdef FAKE_START
    .start = 14,
#else
    .start = -1,
#endif
    .entry_thunks = entry_thunks,
    .num_imports = sizeof imports / sizeof imports[0],
    .imports = imports,
    .num_exports = 2,
    .exports = exports,
};

/* Not wasm: a host-side helper that writes to an arbitrary address (a host bug). */
__attribute__((visibility("default"))) void fake_poke(void *addr) { *(volatile uint8_t *)addr = 1; }

/* Not wasm: a host-side integer division (SIGFPE outside wasm code when b == 0). */
__attribute__((visibility("default"))) int fake_divide(int a, int b) {
  volatile int d = b;
  return a / d;
}
