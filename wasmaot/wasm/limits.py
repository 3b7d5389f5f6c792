"""Every size limit the frontend enforces, with where it comes from.

Spec limits make a module malformed or invalid by definition.  Implementation
limits are the ones the JS API sets for all engines (and wasmtime applies);
they keep a hostile module from making the compiler allocate without bound.
"""

# --- spec limits ---------------------------------------------------------------

# A function's declared locals must add up to less than 2**32 (spec 5.5.13: malformed).
MAX_DECLARED_LOCALS = 2**32 - 1
# Memory sizes in 64 KiB pages: 4 GiB for i32 addresses, 2**64 bytes for i64 (spec 3.2.x).
MAX_PAGES_32 = 1 << 16
MAX_PAGES_64 = 1 << 48
# Table sizes: the largest index the address type can express (spec 3.2.x).
MAX_TABLE_32 = (1 << 32) - 1
MAX_TABLE_64 = (1 << 64) - 1

# --- implementation limits (JS API, "Limits") ------------------------------------
# Checked as soon as a count is read (sections.py) or the index spaces are known
# (validate_module.py), before anything is allocated per item; a module over one
# gets `implementation limit: <what> count exceeds limit of N`.  The values are
# wasmparser's (what wasmtime applies), so wasmaot refuses no module wasmtime takes.

# Entries of the type section (all recursion groups together).
MAX_TYPES = 1_000_000
# Functions, imports included.
MAX_FUNCTIONS = 1_000_000
MAX_IMPORTS = 1_000_000
MAX_EXPORTS = 1_000_000
# Globals and tags, imports included.
MAX_GLOBALS = 1_000_000
MAX_TAGS = 1_000_000
MAX_ELEMENT_SEGMENTS = 100_000
MAX_DATA_SEGMENTS = 100_000
# Tables and memories, imports included.
MAX_TABLES = 100
MAX_MEMORIES = 100
# Items of one element segment.
MAX_ELEMENT_ITEMS = 10_000_000
# Bytes of one function body (its size field), local declarations included.
MAX_FUNCTION_SIZE = 7_654_321
# Parameters and results of one function type.
MAX_FUNCTION_PARAMS = 1_000
MAX_FUNCTION_RESULTS = 1_000

# Locals of one function, parameters included.
MAX_FUNCTION_LOCALS = 50_000
# (No limit on the operands of one `array.new_fixed`: the JS API has 10,000, wasmtime none,
# and we follow wasmtime; validate_gc.py pops them in O(stack), never O(n).)
# Depth of a declared supertype chain (GC proposal).
MAX_SUBTYPE_DEPTH = 63
