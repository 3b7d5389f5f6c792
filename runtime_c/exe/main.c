/* main() of an executable made by `wasmaot build`.
 *
 * Links with: the module's objects (they define `wasmaot_module`), a generated
 * build configuration (`wasmaot_build`, see wasmaot/commands/build.py), and the
 * runtime archive.  It grants the guest what the build baked in plus, unless
 * the build was --locked, what the person running it grants through the
 * environment:
 *
 *   WASMAOT_DIR       comma-separated HOST[::GUEST] directories (read-write)
 *   WASMAOT_RO_DIR    comma-separated HOST[::GUEST] directories (read-only)
 *   WASMAOT_ENV       comma-separated NAME=VAL, or NAME to pass the host's value
 *   WASMAOT_TCP_LISTEN comma-separated HOST:PORT sockets to listen on
 *   WASMAOT_TIMEOUT   a duration (500ms, 2s, 1m, plain seconds): interrupt the
 *                     program after it; only in executables built with
 *                     --timeout, and if --locked only to shorten the build's
 *                     own timeout
 *
 * In these lists a backslash escapes the next byte, which must be `\`, `,` or
 * `:` (wasmaot/driver/grants.py defines the encoding; `wasmaot run` writes it).
 * Grants are bytes: any byte but NUL survives both the baked configuration
 * (byte arrays with lengths) and the lists.
 *
 * Process behaviour (as wasmtime's): proc_exit(n) exits with n; a trap prints
 * `wasm trap: <message>` and a wasm backtrace to stderr and exits 134; a wasm
 * exception that nothing caught prints `wasm exception: thrown Wasm exception`
 * and the backtrace of its throw and exits 1 (wasmtime: an error, not a trap);
 * argv goes to the guest unchanged; fds 0-2 are the host's.
 */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasmaot_build_config.h" /* generated: struct wasmaot_build_config, the variable names */
#include "wasmaot_rt.h"
#include "wasmaot_wasi.h"

extern const struct wasmaot_module_desc wasmaot_module;

struct grants {
  struct wasmaot_wasi_preopen preopens[WASMAOT_MAX_GRANTS];
  size_t npreopens;
  const char *env[WASMAOT_MAX_GRANTS];
  size_t nenv;
  struct wasmaot_wasi_listen listen[WASMAOT_MAX_GRANTS];
  size_t nlisten;
};

/* One line on stderr and exit 1.  Control bytes of a detail (a host path may
 * hold a newline) are written as \xNN, so the message stays one line. */
static void die(const char *what, const char *detail) {
  fprintf(stderr, "error: %s", what);
  if (detail != NULL) {
    fputs(": ", stderr);
    for (const unsigned char *p = (const unsigned char *)detail; *p; p++) {
      if (*p < 0x20 || *p == 0x7f)
        fprintf(stderr, "\\x%02x", *p);
      else
        fputc(*p, stderr);
    }
  }
  fputc('\n', stderr);
  exit(1);
}

static void add_dir(struct grants *g, const char *host, const char *guest, int readonly) {
  if (g->npreopens == WASMAOT_MAX_GRANTS) die("too many directory grants", NULL);
  if (*host == '\0') die("a directory grant needs a host path", NULL);
  if (*guest == '\0') die("the directory grant has an empty guest path", host);
  g->preopens[g->npreopens++] = (struct wasmaot_wasi_preopen){host, guest, readonly};
}

/* "NAME=VAL" is passed as it is; "NAME" passes the host's value, if any. */
static void add_env(struct grants *g, const char *spec) {
  if (g->nenv == WASMAOT_MAX_GRANTS) die("too many environment grants", NULL);
  if (*spec == '=' || *spec == '\0') die("an environment grant has no NAME", spec);
  if (strchr(spec, '=')) {
    g->env[g->nenv++] = spec;
    return;
  }
  const char *value = getenv(spec);
  if (value == NULL) return;
  size_t n = strlen(spec) + strlen(value) + 2;
  char *pair = malloc(n);
  if (pair == NULL) die("out of memory", NULL);
  snprintf(pair, n, "%s=%s", spec, value);
  g->env[g->nenv++] = pair;
}

static void add_listen(struct grants *g, const char *address) {
  if (g->nlisten == WASMAOT_MAX_GRANTS) die("too many listen grants", NULL);
  if (*address == '\0') die("a listen grant needs an address (HOST:PORT)", NULL);
  g->listen[g->nlisten++] = (struct wasmaot_wasi_listen){-1, address};
}

/* A baked value as a C string: its byte at `len` must be the NUL after it and
 * no byte before may be NUL -- else the string the WASI layer sees would not
 * be the value the build was given (a generator bug; never silently cut). */
static const char *baked(struct wasmaot_bytes b) {
  if (b.data == NULL || b.data[b.len] != 0 || memchr(b.data, 0, b.len) != NULL)
    die("corrupt build configuration", NULL);
  return (const char *)b.data;
}

enum list_kind { LIST_DIR, LIST_RO_DIR, LIST_ENV, LIST_LISTEN };

static void add_item(struct grants *g, enum list_kind kind, const char *item, const char *guest) {
  switch (kind) {
  case LIST_DIR:
  case LIST_RO_DIR:
    add_dir(g, item, guest ? guest : item, kind == LIST_RO_DIR);
    break;
  case LIST_ENV:
    add_env(g, item);
    break;
  case LIST_LISTEN:
    add_listen(g, item);
    break;
  }
}

static void bad_list(const char *var, const char *problem, size_t at) {
  char what[160];
  snprintf(what, sizeof what, "%s: %s at byte %zu (escapes are \\\\, \\, and \\:)", var,
           problem, at);
  die(what, NULL);
}

/* Reads the list in variable `var`: items end at an unescaped ',', a
 * backslash escapes the next byte (one of \ , :), and in a directory list the
 * first unescaped "::" separates HOST from GUEST.  Empty items are skipped.
 *
 * Bounds: with n = strlen(value), every read is of value[i] with i < n (the
 * escape reads value[i + 1] only after checking i + 1 < n).  Items are
 * unescaped into one buffer of n + 1 bytes, each followed by a NUL: an item
 * of L input bytes writes at most L bytes plus its NUL, and every item but
 * the last is followed by a ',' it does not copy, so all of them need at most
 * n + 1 bytes.  The buffer lives as long as the process (the grants point
 * into it). */
static void from_environment(struct grants *g, const char *var, enum list_kind kind) {
  const char *value = getenv(var);
  if (value == NULL) return;
  size_t n = strlen(value);
  char *buf = malloc(n + 1);
  if (buf == NULL) die("out of memory", NULL);
  size_t i = 0, o = 0;
  while (i <= n) {
    size_t start = o;
    size_t split = SIZE_MAX; /* where GUEST starts in buf, if a "::" was seen */
    while (i < n && value[i] != ',') {
      if (value[i] == '\\') {
        if (i + 1 == n) bad_list(var, "a backslash ends the list", i);
        char c = value[i + 1];
        if (c != '\\' && c != ',' && c != ':') bad_list(var, "unknown escape", i);
        buf[o++] = c;
        i += 2;
      } else if ((kind == LIST_DIR || kind == LIST_RO_DIR) && split == SIZE_MAX &&
                 value[i] == ':' && i + 1 < n && value[i + 1] == ':') {
        buf[o++] = '\0'; /* ends HOST */
        split = o;
        i += 2;
      } else {
        buf[o++] = value[i++];
      }
    }
    buf[o++] = '\0';
    i++; /* past the ',' (or the end of the value, which ends the loop) */
    if (o - 1 > start || split != SIZE_MAX)
      add_item(g, kind, buf + start, split == SIZE_MAX ? NULL : buf + split);
  }
}

static void collect_grants(struct grants *g) {
  const struct wasmaot_build_config *b = &wasmaot_build;
  for (uint64_t i = 0; i < b->ndirs; i++)
    add_dir(g, baked(b->dirs[i].host), baked(b->dirs[i].guest), b->dirs[i].readonly != 0);
  for (uint64_t i = 0; i < b->nenv; i++) add_env(g, baked(b->env[i]));
  for (uint64_t i = 0; i < b->nlisten; i++) add_listen(g, baked(b->listen[i]));
  if (b->locked) return;
  from_environment(g, WASMAOT_VAR_DIR, LIST_DIR);
  from_environment(g, WASMAOT_VAR_RO_DIR, LIST_RO_DIR);
  from_environment(g, WASMAOT_VAR_ENV, LIST_ENV);
  from_environment(g, WASMAOT_VAR_TCP_LISTEN, LIST_LISTEN);
}

static void print_trap(int32_t code, const struct wasmaot_trap_info *trap) {
  fflush(stdout);
  int exception = code == WASMAOT_TRAP_EXCEPTION;
  fprintf(stderr, "%s: %s\n", exception ? "wasm exception" : "wasm trap",
          trap->message ? trap->message : wasmaot_trap_message(code));
  if (trap->nframes) fprintf(stderr, "wasm backtrace:\n");
  for (uint32_t i = 0; i < trap->nframes; i++) {
    const struct wasmaot_frame *f = &trap->frames[i];
    const char *name = f->module && f->module->func_names ? f->module->func_names[f->func_index]
                                                          : NULL;
    if (name)
      fprintf(stderr, "  %u: %s\n", i, name);
    else
      fprintf(stderr, "  %u: func[%llu]\n", i, (unsigned long long)f->func_index);
    /* Deep recursion: one line for a run of the same frame. */
    uint32_t same = 0;
    while (i + 1 < trap->nframes && trap->frames[i + 1].module == f->module &&
           trap->frames[i + 1].func_index == f->func_index) {
      i++;
      same++;
    }
    if (same) fprintf(stderr, "     ... the same frame %u more times\n", same);
  }
  if (trap->total_frames > trap->nframes)
    fprintf(stderr, "  ... %llu more frames\n",
            (unsigned long long)(trap->total_frames - trap->nframes));
  exit(exception ? 1 : 134);
}

/* A duration as wasmaot/commands/duration.py defines it: 1-12 digits, optionally
 * '.' and 1-9 digits, optionally "ms", "s", "m" or "h" (default s); more than 0
 * and at most a year.  Returns 0 and *ns, or -1. */
static int parse_duration(const char *s, uint64_t *ns) {
  const uint64_t max_ns = 365ull * 24 * 3600 * 1000000000ull;
  uint64_t whole = 0, frac = 0; /* frac: nanoseconds of a unit, 9 digits */
  int digits = 0, frac_digits = 0;
  for (; *s >= '0' && *s <= '9'; s++) {
    if (++digits > 12) return -1;
    whole = whole * 10 + (uint64_t)(*s - '0');
  }
  if (digits == 0) return -1;
  if (*s == '.') {
    for (s++; *s >= '0' && *s <= '9'; s++) {
      if (++frac_digits > 9) return -1;
      frac = frac * 10 + (uint64_t)(*s - '0');
    }
    if (frac_digits == 0) return -1;
    for (int i = frac_digits; i < 9; i++) frac *= 10;
  }
  uint64_t per;
  if (strcmp(s, "ms") == 0) per = 1000000ull;
  else if (strcmp(s, "s") == 0 || *s == '\0') per = 1000000000ull;
  else if (strcmp(s, "m") == 0) per = 60000000000ull;
  else if (strcmp(s, "h") == 0) per = 3600000000000ull;
  else return -1;
  /* whole < 10^12 and per <= 3.6 * 10^12: check before multiplying. */
  if (whole > max_ns / per) return -1;
  /* per = k * 10^6 (k <= 3.6 * 10^6): frac / 10^9 * per = frac * k / 1000, exactly
   * as duration.py rounds, and frac * k < 3.6 * 10^15 cannot overflow. */
  uint64_t total = whole * per + frac * (per / 1000000ull) / 1000ull;
  if (total == 0 || total > max_ns) return -1;
  *ns = total;
  return 0;
}

/* The deadline for this run: the build's, or WASMAOT_TIMEOUT's (only shorter
 * if --locked); 0: none. */
static uint64_t choose_timeout(void) {
  const struct wasmaot_build_config *b = &wasmaot_build;
  const char *value = getenv("WASMAOT_TIMEOUT");
  if (value == NULL || *value == '\0') return b->timeout_ns;
  if (!b->interruptible)
    die("WASMAOT_TIMEOUT", "this executable was built without --timeout, so its loops "
        "cannot be interrupted");
  uint64_t ns;
  if (parse_duration(value, &ns) != 0) {
    fprintf(stderr, "error: WASMAOT_TIMEOUT: invalid duration '%s' (e.g. 500ms, 2s, 1m, or a "
            "number of seconds)\n", value);
    exit(1);
  }
  if (b->locked && b->timeout_ns != 0 && ns > b->timeout_ns) return b->timeout_ns;
  return ns;
}

/* The exported function `_start` (WASI command), or -1. */
static int64_t find_start(const struct wasmaot_module_desc *desc) {
  for (uint64_t i = 0; i < desc->num_exports; i++) {
    const struct wasmaot_export_desc *e = &desc->exports[i];
    if (e->kind == WASMAOT_EXTERN_FUNC && strcmp(e->name, "_start") == 0) return (int64_t)e->index;
  }
  return -1;
}

/* Before anything else: code built for a --cpu level this CPU lacks would die
 * of SIGILL somewhere in the program (runtime_c/cpu.c). */
static void check_cpu(void) {
  char lacks[512];
  if (wasmaot_cpu_lacks(wasmaot_build.cpu_features, lacks, sizeof lacks) == 0) return;
  fprintf(stderr, "error: this program needs %s; this CPU lacks %s\n",
          baked(wasmaot_build.cpu_level), lacks);
  exit(1);
}

int main(int argc, char **argv) {
  static struct grants grants;
  char err[512];
  check_cpu();
  collect_grants(&grants);

  struct wasmaot_wasi_config wasi = {
      .argc = (size_t)argc, .argv = (const char *const *)argv,
      .envc = grants.nenv, .env = grants.env,
      .npreopens = grants.npreopens, .preopens = grants.preopens,
      .nlisten = grants.nlisten, .listen = grants.listen,
  };
  if (wasmaot_wasi_init(&wasi, err, sizeof err) != 0) die("cannot grant access", err);

  struct wasmaot_config config = {
      .max_memory_bytes = wasmaot_build.max_memory_bytes,
      .max_wasm_stack = wasmaot_build.max_wasm_stack,
  };
  wasmaot_runtime_init(&config);
  uint64_t timeout = choose_timeout();
  if (timeout != 0 && wasmaot_set_timeout(timeout) != 0)
    die("cannot start the timeout's watchdog", NULL);

  /* Every import was bound to a C function at build time (WASI or --link). */
  const struct wasmaot_module_desc *desc = &wasmaot_module;
  struct wasmaot_extern *imports = calloc(desc->num_imports ? desc->num_imports : 1, sizeof *imports);
  if (imports == NULL) die("out of memory", NULL);
  for (uint64_t i = 0; i < desc->num_imports; i++) imports[i].kind = WASMAOT_EXTERN_NATIVE_FUNC;

  struct wasmaot_instance *inst = wasmaot_instance_new(desc, imports, NULL, &config, err, sizeof err);
  if (inst == NULL) die("cannot instantiate the module", err);

  static struct wasmaot_trap_info trap;
  int32_t code = wasmaot_instance_init(inst, &trap);
  if (code) print_trap(code, &trap);

  int64_t start = find_start(desc);
  if (start >= 0) {
    const struct wasmaot_funcref *f = wasmaot_instance_func(inst, (uint64_t)start);
    wasmaot_entry_fn thunk = desc->entry_thunks[desc->func_type[start]];
    union wasmaot_value args[1], results[1];
    code = wasmaot_invoke(thunk, f, args, results, &trap);
    if (code) print_trap(code, &trap);
  }
  fflush(stdout);
  return 0;
}
