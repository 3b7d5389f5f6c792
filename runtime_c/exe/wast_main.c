/* main() of a wast test executable (`wasmaot wast --target ...`).
 *
 * A spec script is run by the Python driver (wasmaot/commands/wast_remote.py),
 * which cannot load code of another architecture.  So every module of the
 * script is compiled for the target and linked into this one program, which
 * instantiates and calls them as the driver asks over a pipe; under
 * qemu-user for a foreign target.  The wasm code, the runtime and the
 * linking checks are the target's own: only the script logic runs on the host.
 *
 * Protocol: one request per line on stdin, one reply per line on stdout.
 * Numbers are decimal; values travel as the 64-bit contents of a cell (i32
 * and f32 in the low bits, references as addresses).  Objects (instances,
 * functions, memories, tables, globals) are named by handles this program
 * hands out.
 *
 *   reserve N                  -> ok FIRST         (wasmaot_rt_reserve_type_ids)
 *   type ID SUPER              -> ok               (wasmaot_rt_register_type)
 *   spectest                   -> ok H...          (global_i32 global_i64 global_f32
 *                                                   global_f64 table table64 memory print
 *                                                   shared_memory)
 *   instantiate M NT ID... NI (KIND H)...  (KIND 4: a tag, from `export`)
 *                              -> ok INSTANCE | link MESSAGE | trap CODE MESSAGE
 *   export INSTANCE KIND INDEX -> ok H
 *   invoke H NRESULTS ARG...   -> ok RESULT... | trap CODE MESSAGE
 *   get H                      -> ok VALUE         (a global's cell)
 * (ARG, RESULT and VALUE are cells written LOW:HIGH, see parse_value)
 *   set H VALUE                -> ok               (a mutable global's cell, as wasm's
 *                                                   global.set would: no type check)
 *   memory H                   -> ok PAGES CRC32   (a memory's size and the CRC-32 of its
 *                                                   bytes, as zlib.crc32 computes it)
 *   table H N                  -> ok SIZE NONNULL... (a table's size and, for its first
 *                                                   N elements, 1 if not null else 0)
 *
 * `set`, `memory` and `table` are for tools/diff_farm, which compares a module's state
 * after every call with wasmtime's.
 *
 * KIND is a WASMAOT_EXTERN_* code (WASMAOT_EXTERN_HOST_FUNC for spectest's
 * print functions, whose types the driver checks).  Nothing is ever freed:
 * a script's instances live until the process ends, as in a wasm store.
 */
#define _POSIX_C_SOURCE 200809L /* getline */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasmaot_build_config.h" /* wasmaot_cpu_lacks */
#include "wasmaot_rt.h"

/* Generated per script by the driver: the modules, in the driver's order. */
extern const struct wasmaot_module_desc *const wasmaot_wast_modules[];
extern const size_t wasmaot_wast_nmodules;
/* ... and the --cpu level they were compiled for (see runtime_c/cpu.c). */
extern const unsigned long long wasmaot_wast_cpu_features;
extern const char wasmaot_wast_cpu_level[];

#define KIND_INSTANCE 100
#define MAX_VALUES 1024 /* params or results of one call; more than any valid functype */

struct object {
  uint64_t kind;
  void *ptr;                /* instance, funcref record, memory, table, global, host func */
  wasmaot_entry_fn thunk;   /* functions: the exporting module's entry thunk for the type */
};

static struct object *objects;
static size_t nobjects, capacity;

static void die(const char *what) {
  fprintf(stderr, "wast executable: %s\n", what);
  exit(2);
}

static uint64_t add_object(uint64_t kind, void *ptr, wasmaot_entry_fn thunk) {
  if (nobjects == capacity) {
    capacity = capacity ? 2 * capacity : 256;
    objects = realloc(objects, capacity * sizeof *objects);
    if (objects == NULL) die("out of memory");
  }
  objects[nobjects] = (struct object){kind, ptr, thunk};
  return nobjects++;
}

/* The handle's object if it is of `kind` (any function kind for EXTERN_FUNC). */
static struct object *object_of(uint64_t handle, uint64_t kind) {
  if (handle >= nobjects) return NULL;
  struct object *o = &objects[handle];
  if (o->kind == kind) return o;
  if (kind == WASMAOT_EXTERN_FUNC && o->kind == WASMAOT_EXTERN_HOST_FUNC) return o;
  return NULL;
}

static char *next_token(void) { return strtok(NULL, " \n"); }

static uint64_t next_number(void) {
  char *token = next_token();
  if (token == NULL) die("request too short");
  return strtoull(token, NULL, 10);
}

static void reply_trap(int32_t code, const struct wasmaot_trap_info *trap) {
  printf("trap %d %s\n", code, trap->message ? trap->message : wasmaot_trap_message(code));
}

/* --- spectest: the host objects every spec script may import -------------------------- */

static int print_callback(void *data, union wasmaot_value *args, union wasmaot_value *results) {
  (void)data, (void)args, (void)results;
  return 0;
}

static struct wasmaot_host_func print_func = {print_callback, NULL};

static uint64_t new_global(uint64_t valtype, union wasmaot_value init) {
  struct wasmaot_global *g = wasmaot_global_new(valtype, 0, &init);
  if (g == NULL) die("out of memory");
  return add_object(WASMAOT_EXTERN_GLOBAL, g, NULL);
}

static uint64_t new_table(uint64_t is64) {
  char err[256];
  struct wasmaot_table_desc desc = {10, 20, is64, WASMAOT_VAL_FUNCREF};
  struct wasmaot_table *t = wasmaot_table_new(&desc, NULL, NULL, err, sizeof err);
  if (t == NULL) die(err);
  return add_object(WASMAOT_EXTERN_TABLE, t, NULL);
}

static uint64_t new_memory(uint64_t shared) {
  char err[256];
  struct wasmaot_memory_desc desc = {1, 2, 0, 16, shared, 0, 0};
  struct wasmaot_memory *m = wasmaot_memory_new(&desc, NULL, err, sizeof err);
  if (m == NULL) die(err);
  return add_object(WASMAOT_EXTERN_MEMORY, m, NULL);
}

static void cmd_spectest(void) {
  uint64_t h[9];
  h[0] = new_global(WASMAOT_VAL_I32, (union wasmaot_value){.i32 = 666});
  h[1] = new_global(WASMAOT_VAL_I64, (union wasmaot_value){.i64 = 666});
  h[2] = new_global(WASMAOT_VAL_F32, (union wasmaot_value){.f32 = 666.6f});
  h[3] = new_global(WASMAOT_VAL_F64, (union wasmaot_value){.f64 = 666.6});
  h[4] = new_table(0);
  h[5] = new_table(1);
  h[6] = new_memory(0);
  h[7] = add_object(WASMAOT_EXTERN_HOST_FUNC, &print_func, NULL);
  h[8] = new_memory(1); /* shared_memory (threads), as the spec interpreter's */
  printf("ok");
  for (int i = 0; i < 9; i++) printf(" %llu", (unsigned long long)h[i]);
  printf("\n");
}

/* --- instances --------------------------------------------------------------------------- */

static void cmd_instantiate(void) {
  uint64_t m = next_number();
  if (m >= wasmaot_wast_nmodules) die("no such module");
  const struct wasmaot_module_desc *desc = wasmaot_wast_modules[m];
  uint64_t ntypes = next_number();
  uint64_t *type_ids = calloc(ntypes ? ntypes : 1, sizeof *type_ids);
  for (uint64_t i = 0; i < ntypes; i++) type_ids[i] = next_number();
  uint64_t nimports = next_number();
  struct wasmaot_extern *imports = calloc(nimports ? nimports : 1, sizeof *imports);
  if (type_ids == NULL || imports == NULL) die("out of memory");
  for (uint64_t i = 0; i < nimports; i++) {
    uint64_t kind = next_number(), handle = next_number();
    struct object *o = object_of(handle, kind);
    if (o == NULL) die("import handle of the wrong kind");
    imports[i].kind = kind;
    switch (kind) {
      case WASMAOT_EXTERN_FUNC: imports[i].of.func = o->ptr; break;
      case WASMAOT_EXTERN_HOST_FUNC: imports[i].of.host = o->ptr; break;
      case WASMAOT_EXTERN_MEMORY: imports[i].of.memory = o->ptr; break;
      case WASMAOT_EXTERN_TABLE: imports[i].of.table = o->ptr; break;
      case WASMAOT_EXTERN_GLOBAL: imports[i].of.global = o->ptr; break;
      case WASMAOT_EXTERN_TAG: imports[i].of.tag = o->ptr; break;
      default: die("unknown import kind");
    }
  }
  char err[512];
  struct wasmaot_instance *inst = wasmaot_instance_new(desc, imports, type_ids, NULL, err,
                                                       sizeof err);
  free(imports); /* the instance copied what it needs */
  free(type_ids);
  if (inst == NULL) {
    printf("link %s\n", err);
    return;
  }
  /* Kept even if initialization traps: segments it applied stay visible. */
  uint64_t handle = add_object(KIND_INSTANCE, inst, NULL);
  static struct wasmaot_trap_info trap;
  int32_t code = wasmaot_instance_init(inst, &trap);
  if (code)
    reply_trap(code, &trap);
  else
    printf("ok %llu\n", (unsigned long long)handle);
}

static void cmd_export(void) {
  struct object *o = object_of(next_number(), KIND_INSTANCE);
  if (o == NULL) die("not an instance");
  struct wasmaot_instance *inst = o->ptr;
  uint64_t kind = next_number(), index = next_number();
  const struct wasmaot_module_desc *desc = wasmaot_instance_module(inst);
  void *ptr = NULL;
  wasmaot_entry_fn thunk = NULL;
  switch (kind) {
    case WASMAOT_EXTERN_FUNC:
      ptr = (void *)wasmaot_instance_func(inst, index);
      if (ptr) thunk = desc->entry_thunks[desc->func_type[index]];
      break;
    case WASMAOT_EXTERN_MEMORY: ptr = wasmaot_instance_memory(inst, index); break;
    case WASMAOT_EXTERN_TABLE: ptr = wasmaot_instance_table(inst, index); break;
    case WASMAOT_EXTERN_GLOBAL: ptr = wasmaot_instance_global(inst, index); break;
    case WASMAOT_EXTERN_TAG: ptr = wasmaot_instance_tag(inst, index); break;
  }
  if (ptr == NULL) die("no such export");
  printf("ok %llu\n", (unsigned long long)add_object(kind, ptr, thunk));
}

/* A value on the pipe: its 16 bytes as two decimal u64 halves, "LOW:HIGH" (the
 * HIGH half, and the colon, only for a v128; scalars and references fill the
 * low half).  Both targets are little-endian, so the low half is bytes 0-7. */
static union wasmaot_value parse_value(const char *token) {
  union wasmaot_value v;
  memset(&v, 0, sizeof v);
  char *end;
  uint64_t half[2] = {strtoull(token, &end, 10), 0};
  if (*end == ':') half[1] = strtoull(end + 1, NULL, 10);
  memcpy(&v, half, sizeof half);
  return v;
}

static void print_value(const union wasmaot_value *v) {
  uint64_t half[2];
  memcpy(half, v, sizeof half);
  printf(" %llu:%llu", (unsigned long long)half[0], (unsigned long long)half[1]);
}

static void cmd_invoke(void) {
  struct object *o = object_of(next_number(), WASMAOT_EXTERN_FUNC);
  if (o == NULL || o->thunk == NULL) die("not an exported function");
  uint64_t nresults = next_number();
  static union wasmaot_value args[MAX_VALUES], results[MAX_VALUES];
  size_t nargs = 0;
  for (char *token = next_token(); token; token = next_token()) {
    if (nargs == MAX_VALUES) die("too many arguments");
    args[nargs++] = parse_value(token);
  }
  if (nresults > MAX_VALUES) die("too many results");
  memset(results, 0, sizeof results); /* i32/f32 results fill only the low bits */
  static struct wasmaot_trap_info trap;
  int32_t code = wasmaot_invoke(o->thunk, o->ptr, args, results, &trap);
  if (code) {
    reply_trap(code, &trap);
    return;
  }
  printf("ok");
  for (uint64_t i = 0; i < nresults; i++) print_value(&results[i]);
  printf("\n");
}

static void cmd_get(void) {
  struct object *o = object_of(next_number(), WASMAOT_EXTERN_GLOBAL);
  if (o == NULL) die("not a global");
  printf("ok");
  print_value(&((struct wasmaot_global *)o->ptr)->value);
  printf("\n");
}

static void cmd_set(void) {
  struct object *o = object_of(next_number(), WASMAOT_EXTERN_GLOBAL);
  if (o == NULL) die("not a global");
  char *token = next_token();
  if (token == NULL) die("missing value");
  ((struct wasmaot_global *)o->ptr)->value = parse_value(token);
  printf("ok\n");
}

/* CRC-32 (IEEE 802.3, reflected, as zlib): a digest the driver can check with
 * zlib.crc32 without moving the bytes over the pipe. */
static uint32_t crc32_of(const uint8_t *p, uint64_t n) {
  static uint32_t table[256];
  if (table[1] == 0) {
    for (uint32_t i = 0; i < 256; i++) {
      uint32_t c = i;
      for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
      table[i] = c;
    }
  }
  uint32_t crc = 0xFFFFFFFFu;
  for (uint64_t i = 0; i < n; i++) crc = (crc >> 8) ^ table[(crc ^ p[i]) & 0xFF];
  return ~crc;
}

static void cmd_memory(void) {
  struct object *o = object_of(next_number(), WASMAOT_EXTERN_MEMORY);
  if (o == NULL) die("not a memory");
  const struct wasmaot_memory *m = o->ptr;
  printf("ok %llu %lu\n", (unsigned long long)m->pages, (unsigned long)crc32_of(m->base, m->size));
}

static void cmd_table(void) {
  struct object *o = object_of(next_number(), WASMAOT_EXTERN_TABLE);
  if (o == NULL) die("not a table");
  const struct wasmaot_table *t = o->ptr;
  uint64_t n = next_number();
  if (n > t->size) n = t->size; /* never reads past the elements */
  printf("ok %llu", (unsigned long long)t->size);
  for (uint64_t i = 0; i < n; i++) printf(" %d", t->elems[i] != NULL);
  printf("\n");
}

int main(void) {
  char lacks[512];
  if (wasmaot_cpu_lacks(wasmaot_wast_cpu_features, lacks, sizeof lacks) != 0) {
    fprintf(stderr, "error: these modules need %s; this CPU lacks %s\n",
            wasmaot_wast_cpu_level, lacks);
    return 1;
  }
  wasmaot_runtime_init(NULL);
  char *line = NULL;
  size_t size = 0;
  while (getline(&line, &size, stdin) > 0) {
    char *command = strtok(line, " \n");
    if (command == NULL) continue;
    if (strcmp(command, "reserve") == 0) {
      printf("ok %lld\n", (long long)wasmaot_rt_reserve_type_ids(next_number()));
    } else if (strcmp(command, "type") == 0) {
      uint64_t id = next_number();
      int64_t super = (int64_t)next_number();
      printf(wasmaot_rt_register_type(id, super) == 0 ? "ok\n" : "link cannot register type\n");
    } else if (strcmp(command, "spectest") == 0) {
      cmd_spectest();
    } else if (strcmp(command, "instantiate") == 0) {
      cmd_instantiate();
    } else if (strcmp(command, "export") == 0) {
      cmd_export();
    } else if (strcmp(command, "invoke") == 0) {
      cmd_invoke();
    } else if (strcmp(command, "get") == 0) {
      cmd_get();
    } else if (strcmp(command, "set") == 0) {
      cmd_set();
    } else if (strcmp(command, "memory") == 0) {
      cmd_memory();
    } else if (strcmp(command, "table") == 0) {
      cmd_table();
    } else {
      die("unknown request");
    }
    fflush(stdout);
  }
  return 0;
}
