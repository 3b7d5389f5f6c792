/* Instantiation from a module descriptor.
 *
 * wasmaot_instance_new builds everything the generated code's vmctx points to,
 * in index-space order (imports first):
 *   funcs[]     imported wasm functions: the exporter's record, copied;
 *               imported host functions: {desc->host_adapters[i], record, type};
 *               defined functions: {desc->func_code[i], this vmctx, type id};
 *   memories[]  imported ones (retained) then new ones (memory.c);
 *   tables[]    imported ones (retained) then new ones, all elements null;
 *   globals[]   pointers to cells: imported (retained) then new, zeroed;
 *   type_ids[]  the embedder's canonical ids, or the descriptor's own;
 *   tags[]      imported ones (the exporter's tag instance: a tag's identity is
 *               its address) then this instance's own, {type id, payload count};
 *   datas[]     the module image's segments (dropping one zeroes only our copy);
 *   elems[]     one array of desc->elem_lengths[i] null items per segment.
 * It links imports with the spec's import-matching rules for memories, tables,
 * globals and tags, and the type registry for functions; the errors name the import.
 * wasmaot_instance_init then runs the module's own `init` (global values, table
 * initializers, element items, active segments, in spec order; it may trap)
 * and the start function, under an activation.
 */
#include "internal.h" /* first: it defines _GNU_SOURCE */
#include <string.h>

/* --- import matching ------------------------------------------------------------------- */

static int limits_match(uint64_t size, uint64_t max, const char *unit, uint64_t want_min,
                        uint64_t want_max, char *why, size_t whylen) {
  if (size < want_min) {
    wasmaot_rt_error(why, whylen, "size of %llu %s is below the required minimum of %llu",
                     (unsigned long long)size, unit, (unsigned long long)want_min);
    return 0;
  }
  if (want_max != UINT64_MAX && max == UINT64_MAX) {
    wasmaot_rt_error(why, whylen, "no maximum, but the import requires at most %llu %s",
                     (unsigned long long)want_max, unit);
    return 0;
  }
  if (want_max != UINT64_MAX && max > want_max) {
    wasmaot_rt_error(why, whylen, "maximum of %llu %s exceeds the required maximum of %llu",
                     (unsigned long long)max, unit, (unsigned long long)want_max);
    return 0;
  }
  return 1;
}

/* Whether a module's code accesses this memory unchecked, relying on the guard
 * reservation (codegen/memory.py _guard_covers): a property of the compiled code,
 * which a config cannot change. */
static int code_relies_on_guard(const struct wasmaot_memory_desc *d) {
  return !d->explicit_checks && !d->is64 && d->page_size_log2 == 16;
}

/* SANDBOX: a config that asks for explicit bounds checks gets memories without the
 * guard reservation (memory.c).  Code compiled for guard pages checks nothing, so
 * under such a config its accesses up to 8 GiB past the base would reach memory that
 * is not the module's: refuse the instance rather than trust the embedder's flag. */
static int config_contradicts_code(const struct wasmaot_module_desc *desc,
                                   const struct wasmaot_config *config, char *errbuf,
                                   size_t errlen) {
  if (!config || !config->explicit_bounds_checks) return 0;
  for (uint64_t i = 0; i < desc->num_memories; i++) {
    if (code_relies_on_guard(&desc->memories[i])) {
      wasmaot_rt_error(errbuf, errlen,
                       "memory %llu: the module's code relies on guard pages (it was compiled "
                       "without explicit bounds checks), but the config asks for explicit "
                       "checks", (unsigned long long)i);
      return 1;
    }
  }
  return 0;
}

static int memory_matches(const struct wasmaot_rt_memory *m, const struct wasmaot_memory_desc *want,
                          char *why, size_t whylen) {
  if (m->abi.is64 != want->is64) {
    wasmaot_rt_error(why, whylen, "index type mismatch (i%d memory for an i%d import)",
                     m->abi.is64 ? 64 : 32, want->is64 ? 64 : 32);
    return 0;
  }
  if (m->abi.page_size_log2 != want->page_size_log2) {
    wasmaot_rt_error(why, whylen, "page size mismatch");
    return 0;
  }
  if (m->shared != want->shared) {
    wasmaot_rt_error(why, whylen, "shared flag mismatch");
    return 0;
  }
  if (!limits_match(m->abi.pages, m->declared_max, "pages", want->min, want->max, why, whylen))
    return 0;
  /* SANDBOX: code compiled for guard pages does not check bounds; it must get
   * a memory with the 8 GiB + guard reservation (memory.c).  What the code does
   * is the descriptor's to say, never the config's (see code_relies_on_guard). */
  if (code_relies_on_guard(want) && !m->guarded) {
    wasmaot_rt_error(why, whylen,
                     "the module relies on guard pages but the memory has no guard reservation "
                     "(it was made for explicit bounds checks)");
    return 0;
  }
  /* SANDBOX: code that folds `i32.add X, c` into addresses reaches up to 64 KiB
   * below the base when X + c wraps; only a fold-safe memory (memory.c: the low
   * guard, at most FOLD_MAX_PAGES pages) makes that a fault, whatever the config. */
  if (want->folds_adds && !m->fold_safe) {
    wasmaot_rt_error(why, whylen,
                     "the module folds address constants but the memory has no low guard "
                     "and page cap (it was made for explicit bounds checks, or with more "
                     "than %llu pages)", (unsigned long long)WASMAOT_FOLD_MAX_PAGES);
    return 0;
  }
  return 1;
}

static int table_matches(const struct wasmaot_rt_table *t, const struct wasmaot_table_desc *want,
                         char *why, size_t whylen) {
  if (t->abi.is64 != want->is64) {
    wasmaot_rt_error(why, whylen, "index type mismatch");
    return 0;
  }
  if (t->reftype != want->reftype) {
    wasmaot_rt_error(why, whylen, "element type mismatch");
    return 0;
  }
  return limits_match(t->abi.size, t->abi.max, "elements", want->min, want->max, why, whylen);
}

static int global_matches(const struct wasmaot_global *g, const struct wasmaot_global_desc *want,
                          char *why, size_t whylen) {
  if (g->valtype != want->valtype) {
    wasmaot_rt_error(why, whylen, "value type mismatch");
    return 0;
  }
  if (g->mutable != want->mutable) {
    wasmaot_rt_error(why, whylen, "mutability mismatch");
    return 0;
  }
  return 1;
}

static const char *kind_name(uint64_t kind) {
  switch (kind) {
    case WASMAOT_EXTERN_FUNC: return "function";
    case WASMAOT_EXTERN_HOST_FUNC: return "host function";
    case WASMAOT_EXTERN_NATIVE_FUNC: return "native function";
    case WASMAOT_EXTERN_TABLE: return "table";
    case WASMAOT_EXTERN_MEMORY: return "memory";
    case WASMAOT_EXTERN_GLOBAL: return "global";
    case WASMAOT_EXTERN_TAG: return "tag";
    default: return "unknown kind";
  }
}

/* Links import k.  0, or -1 with `why` filled. */
static int link_import(struct wasmaot_instance *inst, const struct wasmaot_import_desc *im,
                       const struct wasmaot_extern *ex, const struct wasmaot_config *config,
                       char *why, size_t whylen) {
  const struct wasmaot_module_desc *desc = inst->desc;
  struct wasmaot_vmctx *vm = &inst->vmctx;
  uint64_t i = im->index;
  int is_func = ex->kind == WASMAOT_EXTERN_FUNC || ex->kind == WASMAOT_EXTERN_HOST_FUNC ||
                ex->kind == WASMAOT_EXTERN_NATIVE_FUNC;
  if (im->kind == WASMAOT_EXTERN_FUNC ? !is_func : ex->kind != im->kind) {
    wasmaot_rt_error(why, whylen, "expected %s, got %s", kind_name(im->kind), kind_name(ex->kind));
    return -1;
  }
  switch (im->kind) {
    case WASMAOT_EXTERN_FUNC: {
      if (i >= desc->num_imported_funcs) goto bad_index;
      uint64_t type_id = vm->type_ids[desc->func_type[i]];
      if (ex->kind == WASMAOT_EXTERN_NATIVE_FUNC) {
        /* Bound at build time to a C function: the module's adapter calls it
         * with this instance's vmctx (WASI reaches the caller's memory so). */
        vm->funcs[i] = (struct wasmaot_funcref){desc->host_adapters[i], vm, type_id};
        return 0;
      }
      if (ex->kind == WASMAOT_EXTERN_HOST_FUNC) {
        if (ex->of.host == NULL) goto null_extern;
        vm->funcs[i] = (struct wasmaot_funcref){desc->host_adapters[i],
                                                (struct wasmaot_vmctx *)ex->of.host, type_id};
        return 0;
      }
      if (ex->of.func == NULL) goto null_extern;
      /* An exact import (custom descriptors) admits only the type itself:
       * code may rely on the function's exact type (ref.func gives an exact
       * reference), so a subtype's function must not slip in.  Canonical ids
       * are equal exactly when the types are. */
      uint64_t have = ex->of.func->type_id;
      if (im->exact ? have != type_id : !wasmaot_rt_type_matches(have, type_id)) {
        wasmaot_rt_error(why, whylen, "function type mismatch%s",
                         im->exact ? " (the import is exact)" : "");
        return -1;
      }
      vm->funcs[i] = *ex->of.func;
      return 0;
    }
    case WASMAOT_EXTERN_MEMORY:
      if (i >= desc->num_imported_memories) goto bad_index;
      if (ex->of.memory == NULL) goto null_extern;
      if (!memory_matches(wasmaot_rt_memory_of(ex->of.memory), &desc->memories[i], why,
                          whylen))
        return -1;
      wasmaot_memory_retain(ex->of.memory);
      vm->memories[i] = ex->of.memory;
      return 0;
    case WASMAOT_EXTERN_TABLE:
      if (i >= desc->num_imported_tables) goto bad_index;
      if (ex->of.table == NULL) goto null_extern;
      if (!table_matches(wasmaot_rt_table_of(ex->of.table), &desc->tables[i], why, whylen))
        return -1;
      wasmaot_table_retain(ex->of.table);
      vm->tables[i] = ex->of.table;
      return 0;
    case WASMAOT_EXTERN_GLOBAL:
      if (i >= desc->num_imported_globals) goto bad_index;
      if (ex->of.global == NULL) goto null_extern;
      if (!global_matches(ex->of.global, &desc->globals[i], why, whylen)) return -1;
      wasmaot_global_retain(ex->of.global);
      inst->globals[i] = ex->of.global;
      vm->globals[i] = &ex->of.global->value;
      return 0;
    case WASMAOT_EXTERN_TAG: {
      if (i >= desc->num_imported_tags) goto bad_index;
      if (ex->of.tag == NULL) goto null_extern;
      /* SANDBOX: catch clauses read the payload with the import's types, so
       * the tag must have exactly that type (tag types match by equality:
       * canonical ids are equal exactly when the types are). */
      if (ex->of.tag->type_id != vm->type_ids[desc->tags[i].type_index] ||
          ex->of.tag->num_values != desc->tags[i].num_values) {
        wasmaot_rt_error(why, whylen, "tag type mismatch");
        return -1;
      }
      vm->tags[i] = ex->of.tag;
      return 0;
    }
    default:
      wasmaot_rt_error(why, whylen, "%s imports are not supported", kind_name(im->kind));
      return -1;
  }
bad_index:
  wasmaot_rt_error(why, whylen, "descriptor has a bad import index %llu", (unsigned long long)i);
  return -1;
null_extern:
  wasmaot_rt_error(why, whylen, "no %s given", kind_name(ex->kind));
  return -1;
}

/* --- creation and destruction ---------------------------------------------------------- */

/* Frees everything `inst` holds; works on a half-built instance.  Lock held. */
static void instance_destroy(struct wasmaot_instance *inst) {
  const struct wasmaot_module_desc *desc = inst->desc;
  struct wasmaot_vmctx *vm = &inst->vmctx;
  for (uint64_t i = 0; vm->memories && i < desc->num_memories; i++)
    wasmaot_memory_release(vm->memories[i]);
  for (uint64_t i = 0; vm->tables && i < desc->num_tables; i++)
    wasmaot_table_release(vm->tables[i]);
  for (uint64_t i = 0; inst->globals && i < desc->num_globals; i++)
    wasmaot_global_release(inst->globals[i]);
  for (uint64_t i = 0; vm->elems && i < desc->num_elems; i++) free((void *)vm->elems[i].data);
  if (inst->code_registered) wasmaot_rt_registry_remove_module(desc);
  free(vm->memories);
  free(vm->tables);
  free(vm->globals);
  free(inst->globals);
  free(vm->funcs);
  free(vm->type_ids);
  free(vm->datas);
  free(vm->elems);
  free(vm->tags);
  free(inst->own_tags);
  free(inst);
}

/* calloc of n items, never NULL for n == 0. */
static void *alloc_array(uint64_t n, size_t size) {
  return calloc(n ? n : 1, size);
}

struct wasmaot_instance *wasmaot_instance_new(const struct wasmaot_module_desc *desc,
                                              const struct wasmaot_extern *imports,
                                              const uint64_t *type_ids,
                                              const struct wasmaot_config *config, char *errbuf,
                                              size_t errlen) {
  if (desc->abi_version != WASMAOT_ABI_VERSION) {
    wasmaot_rt_error(errbuf, errlen, "module compiled for runtime ABI %llu, this runtime has %d",
                     (unsigned long long)desc->abi_version, WASMAOT_ABI_VERSION);
    return NULL;
  }
  if (desc->num_imports > 0 && imports == NULL) {
    wasmaot_rt_error(errbuf, errlen, "the module has %llu imports but none were given",
                     (unsigned long long)desc->num_imports);
    return NULL;
  }
  if (config_contradicts_code(desc, config, errbuf, errlen)) return NULL;
  wasmaot_runtime_init(NULL);
  wasmaot_rt_lock();
  char why[200];
  struct wasmaot_instance *inst = calloc(1, sizeof *inst);
  if (inst == NULL) goto oom_no_instance;
  inst->desc = desc;
  struct wasmaot_vmctx *vm = &inst->vmctx;
  vm->runtime = inst;
  vm->stack_limit = wasmaot_rt_stack_limit_cell();
  vm->interrupt_page = wasmaot_rt_interrupt_page();
  vm->memories = alloc_array(desc->num_memories, sizeof *vm->memories);
  vm->tables = alloc_array(desc->num_tables, sizeof *vm->tables);
  vm->globals = alloc_array(desc->num_globals, sizeof *vm->globals);
  inst->globals = alloc_array(desc->num_globals, sizeof *inst->globals);
  vm->funcs = alloc_array(desc->num_funcs, sizeof *vm->funcs);
  vm->type_ids = alloc_array(desc->num_types, sizeof *vm->type_ids);
  vm->datas = alloc_array(desc->num_datas, sizeof *vm->datas);
  vm->elems = alloc_array(desc->num_elems, sizeof *vm->elems);
  vm->tags = alloc_array(desc->num_tags, sizeof *vm->tags);
  if (desc->num_imported_tags > desc->num_tags) {
    wasmaot_rt_error(errbuf, errlen, "descriptor has more imported tags than tags");
    goto fail;
  }
  inst->own_tags = alloc_array(desc->num_tags - desc->num_imported_tags, sizeof *inst->own_tags);
  if (!vm->memories || !vm->tables || !vm->globals || !inst->globals || !vm->funcs ||
      !vm->type_ids || !vm->datas || !vm->elems || !vm->tags || !inst->own_tags)
    goto oom;

  /* Without embedder ids, the module's own canonical indices are offset into a
   * block of ids reserved for this module, so they never clash with ids the
   * process uses for anything else. */
  int64_t own_base = type_ids ? 0 : wasmaot_rt_module_type_base(desc);
  if (own_base < 0) {
    wasmaot_rt_error(errbuf, errlen, "too many types in this process");
    goto fail;
  }
  for (uint64_t t = 0; t < desc->num_types; t++) {
    if (type_ids) {
      vm->type_ids[t] = type_ids[t];
    } else {
      uint64_t base = (uint64_t)own_base;
      vm->type_ids[t] = base + desc->type_canon[t];
      int64_t super = desc->type_super[t] < 0 ? -1 : (int64_t)base + desc->type_super[t];
      if (wasmaot_rt_register_type(base + desc->type_canon[t], super) != 0) {
        wasmaot_rt_error(errbuf, errlen, "type %llu: cannot register its canonical id",
                         (unsigned long long)t);
        goto fail;
      }
    }
  }

  for (uint64_t k = 0; k < desc->num_imports; k++) {
    const struct wasmaot_import_desc *im = &desc->imports[k];
    if (link_import(inst, im, &imports[k], config, why, sizeof why) != 0) {
      wasmaot_rt_error(errbuf, errlen, "import \"%s\" \"%s\": %s", im->module, im->name, why);
      goto fail;
    }
  }

  for (uint64_t i = desc->num_imported_memories; i < desc->num_memories; i++) {
    struct wasmaot_rt_memory *m =
        wasmaot_rt_memory_create(&desc->memories[i], config, why, sizeof why);
    if (m == NULL) {
      wasmaot_rt_error(errbuf, errlen, "memory %llu: %s", (unsigned long long)i, why);
      goto fail;
    }
    vm->memories[i] = &m->abi;
  }
  /* Generated code reads memory 0's base from here (abi.py VMCTX.memory0_base).  A
   * copy is exact for the instance's lifetime: a memory's base never moves (memory.c
   * reserves its whole range up front), and an imported memory is retained. */
  vm->memory0_base = desc->num_memories ? vm->memories[0]->base : NULL;
  for (uint64_t i = desc->num_imported_tables; i < desc->num_tables; i++) {
    struct wasmaot_rt_table *t =
        wasmaot_rt_table_create(&desc->tables[i], NULL, config, why, sizeof why);
    if (t == NULL) {
      wasmaot_rt_error(errbuf, errlen, "table %llu: %s", (unsigned long long)i, why);
      goto fail;
    }
    vm->tables[i] = &t->abi;
  }
  for (uint64_t i = desc->num_imported_globals; i < desc->num_globals; i++) {
    const struct wasmaot_global_desc *type = &desc->globals[i];
    struct wasmaot_global *g = wasmaot_global_new(type->valtype, type->mutable, NULL);
    if (g == NULL) goto oom;
    inst->globals[i] = g;
    vm->globals[i] = &g->value;
  }
  /* Generated code reads global 0's cell from here (abi.py VMCTX.global0_cell): exact
   * for the instance's lifetime, as cells never move and an imported one is retained. */
  vm->global0_cell = desc->num_globals ? vm->globals[0] : NULL;
  for (uint64_t i = desc->num_imported_funcs; i < desc->num_funcs; i++)
    vm->funcs[i] =
        (struct wasmaot_funcref){desc->func_code[i], vm, vm->type_ids[desc->func_type[i]]};
  for (uint64_t i = desc->num_imported_tags; i < desc->num_tags; i++) {
    struct wasmaot_tag *tag = &inst->own_tags[i - desc->num_imported_tags];
    *tag = (struct wasmaot_tag){vm->type_ids[desc->tags[i].type_index], desc->tags[i].num_values};
    vm->tags[i] = tag;
  }
  for (uint64_t i = 0; i < desc->num_datas; i++) vm->datas[i] = desc->datas[i];
  for (uint64_t i = 0; i < desc->num_elems; i++) {
    void **items = alloc_array(desc->elem_lengths[i], sizeof(void *));
    if (items == NULL) goto oom;
    vm->elems[i] = (struct wasmaot_segment){items, desc->elem_lengths[i]};
  }
  if (wasmaot_rt_registry_add_module(desc) != 0) goto oom;
  inst->code_registered = 1;
  wasmaot_rt_unlock();
  return inst;

oom:
  wasmaot_rt_error(errbuf, errlen, "out of memory creating an instance");
fail:
  instance_destroy(inst);
  wasmaot_rt_unlock();
  return NULL;
oom_no_instance:
  wasmaot_rt_unlock();
  wasmaot_rt_error(errbuf, errlen, "out of memory creating an instance");
  return NULL;
}

void wasmaot_instance_free(struct wasmaot_instance *inst) {
  if (inst == NULL) return;
  wasmaot_rt_lock();
  instance_destroy(inst);
  wasmaot_rt_unlock();
}

static void run_module_init(void *p) {
  struct wasmaot_instance *inst = p;
  if (inst->desc->init) inst->desc->init(&inst->vmctx);
}

int32_t wasmaot_instance_init(struct wasmaot_instance *inst, struct wasmaot_trap_info *trap) {
  int32_t rc = wasmaot_rt_activate(run_module_init, inst, trap);
  if (rc != WASMAOT_TRAP_NONE) return rc;
  const struct wasmaot_module_desc *desc = inst->desc;
  if (desc->start < 0) return WASMAOT_TRAP_NONE;
  uint64_t start = (uint64_t)desc->start;
  return wasmaot_invoke(desc->entry_thunks[desc->func_type[start]], &inst->vmctx.funcs[start], NULL,
                        NULL, trap);
}

/* --- accessors --------------------------------------------------------------------------- */

struct wasmaot_vmctx *wasmaot_instance_vmctx(struct wasmaot_instance *inst) {
  return &inst->vmctx;
}

const struct wasmaot_module_desc *wasmaot_instance_module(struct wasmaot_instance *inst) {
  return inst->desc;
}

struct wasmaot_memory *wasmaot_instance_memory(struct wasmaot_instance *inst, uint64_t index) {
  return index < inst->desc->num_memories ? inst->vmctx.memories[index] : NULL;
}

struct wasmaot_table *wasmaot_instance_table(struct wasmaot_instance *inst, uint64_t index) {
  return index < inst->desc->num_tables ? inst->vmctx.tables[index] : NULL;
}

struct wasmaot_global *wasmaot_instance_global(struct wasmaot_instance *inst, uint64_t index) {
  return index < inst->desc->num_globals ? inst->globals[index] : NULL;
}

const struct wasmaot_funcref *wasmaot_instance_func(struct wasmaot_instance *inst, uint64_t index) {
  return index < inst->desc->num_funcs ? &inst->vmctx.funcs[index] : NULL;
}

struct wasmaot_tag *wasmaot_instance_tag(struct wasmaot_instance *inst, uint64_t index) {
  return index < inst->desc->num_tags ? inst->vmctx.tags[index] : NULL;
}
