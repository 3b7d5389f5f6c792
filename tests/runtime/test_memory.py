"""Linear memories: reservation and guard, growth and limits, memory.init's bounds,
host-made and shared memories, and the import check that keeps guard-page code safe."""

from __future__ import annotations

import pytest
from harness import (
    CALL_HOST,
    DATA_DROP,
    LOAD,
    LOAD_OFF,
    MEM_GROW,
    MEM_INIT,
    MEM_PAGES,
    STORE,
    ffi,
)

from wasmaot.errors import Trap

GiB = 1 << 30
PAGE = 65536
GUARDED_RESERVATION = 8 * GiB + 64 * 1024
NO_MAX = 2**64 - 1
OOB = "^out of bounds memory access$"


def memory_type(**kw):
    fields = {"min": 1, "max": NO_MAX, "is64": 0, "page_size_log2": 16, "shared": 0}
    fields.update(kw)
    return ffi.new("struct wasmaot_memory_desc *", fields)


@pytest.fixture
def new_memory(rt):
    made = []

    def make(config=None, **kw):
        err = ffi.new("char[200]")
        cfg = ffi.new("struct wasmaot_config *", config) if config else ffi.NULL
        mem = rt.wasmaot_memory_new(memory_type(**kw), cfg, err, 200)
        if mem == ffi.NULL:
            raise RuntimeError(ffi.string(err).decode())
        made.append(mem)
        return mem

    yield make
    for mem in made:
        rt.wasmaot_memory_release(mem)


def test_a_32_bit_memory_reserves_8_gib_plus_guard(make_instance, rt):
    inst = make_instance()
    mem = inst.memory
    assert (mem.pages, mem.size, mem.max_pages, mem.reserved) == (1, PAGE, 4, GUARDED_RESERVATION)
    assert rt.wasmaot_memory_is_guarded(mem)
    assert inst.mem_bytes(0, 6) == b"hello\0"


def test_out_of_bounds_just_past_the_end(make_instance):
    inst = make_instance()
    assert inst.call(LOAD, PAGE - 4) == 0
    with pytest.raises(Trap, match=OOB):
        inst.call(LOAD, PAGE - 3)  # straddles the end: the first inaccessible byte faults
    with pytest.raises(Trap, match=OOB):
        inst.call(LOAD, PAGE)


def test_largest_unchecked_address_is_inside_the_guard(make_instance):
    """index 2^32-1 plus offset 2^32-1 plus an 8-byte access: still our reservation."""
    inst = make_instance()
    for addr, off in [(0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0), (0, 0xFFFFFFFF), (0x80000000, 0x80000000)]:
        with pytest.raises(Trap, match=OOB):
            inst.call(LOAD_OFF, addr - 2**32 if addr >= 2**31 else addr, off - 2**32 if off >= 2**31 else off)


def test_grow_makes_pages_accessible_and_respects_the_maximum(make_instance):
    inst = make_instance()
    with pytest.raises(Trap, match=OOB):
        inst.call(LOAD, PAGE + 8)
    assert inst.op(MEM_GROW, 1) == 1
    assert inst.op(MEM_PAGES) == 2 and inst.memory.size == 2 * PAGE
    assert inst.call(LOAD, PAGE + 8) == 0  # new pages read as zero
    inst.call(STORE, 2 * PAGE - 4, 77)
    assert inst.call(LOAD, 2 * PAGE - 4) == 77
    with pytest.raises(Trap, match=OOB):
        inst.call(LOAD, 2 * PAGE)  # beyond the new size still faults
    assert inst.op(MEM_GROW, 0) == 2
    assert inst.op(MEM_GROW, 3) == -1  # 5 > max 4
    assert inst.op(MEM_GROW, 2**63 - 1) == -1  # overflow-checked
    assert inst.op(MEM_GROW, 2) == 2 and inst.op(MEM_PAGES) == 4


def test_base_never_moves(make_instance):
    inst = make_instance()
    base = int(ffi.cast("uintptr_t", inst.memory.base))
    inst.op(MEM_GROW, 3)
    assert int(ffi.cast("uintptr_t", inst.memory.base)) == base


def test_embedder_memory_limit_caps_growth_and_instantiation(make_instance):
    inst = make_instance(config={"max_memory_bytes": 2 * PAGE})
    assert inst.memory.max_pages == 2
    assert inst.op(MEM_GROW, 1) == 1
    assert inst.op(MEM_GROW, 1) == -1
    with pytest.raises(RuntimeError, match="^memory 0: memory minimum of 1 pages exceeds the limit of 0 pages$"):
        make_instance(config={"max_memory_bytes": PAGE - 1})


def test_host_grow(make_instance, rt):
    inst = make_instance()
    assert rt.wasmaot_memory_grow(inst.memory, 2) == 1
    assert inst.op(MEM_PAGES) == 3
    assert rt.wasmaot_memory_grow(inst.memory, 2) == -1


def test_init_and_data_drop(make_instance):
    inst = make_instance()
    inst.op(MEM_INIT, 100, 0, 6)
    assert inst.mem_bytes(100, 6) == b"world!"
    inst.op(MEM_INIT, 200, 2, 3)
    assert inst.mem_bytes(200, 3) == b"rld"
    with pytest.raises(Trap, match=OOB):
        inst.op(MEM_INIT, 300, 2, 5)  # source past the segment
    with pytest.raises(Trap, match=OOB):
        inst.op(MEM_INIT, PAGE - 2, 0, 6)  # destination past the memory
    assert inst.mem_bytes(300, 5) == b"\0" * 5 and inst.mem_bytes(PAGE - 2, 2) == b"\0\0"
    inst.op(MEM_INIT, 0, 6, 0)  # empty at the segment's end: fine
    inst.op(DATA_DROP)
    inst.op(MEM_INIT, 0, 0, 0)  # a dropped segment has length 0
    with pytest.raises(Trap, match=OOB):
        inst.op(MEM_INIT, 0, 0, 1)
    inst.op(DATA_DROP)  # dropping twice is fine


def test_explicit_memories_reserve_only_their_maximum(new_memory, rt):
    m64 = new_memory(is64=1, min=1, max=3)
    assert (m64.reserved, m64.max_pages, m64.is64) == (3 * PAGE, 3, 1)
    assert not rt.wasmaot_memory_is_guarded(m64)
    m32 = new_memory(config={"explicit_bounds_checks": 1}, min=0, max=2)
    assert (m32.reserved, m32.size, m32.max_pages) == (2 * PAGE, 0, 2)
    unbounded = new_memory(is64=1, min=0)
    assert unbounded.reserved == 16 * GiB  # WASMAOT_RT_MAX_EXPLICIT_RESERVATION
    capped = new_memory(is64=1, min=0, config={"max_memory_bytes": 10 * PAGE + 5})
    assert (capped.reserved, capped.max_pages) == (10 * PAGE, 10)
    assert rt.wasmaot_memory_grow(m64, 2) == 1 and rt.wasmaot_memory_grow(m64, 1) == -1


def test_one_byte_pages(new_memory, rt):
    m = new_memory(page_size_log2=0, min=5, max=100000)
    assert (m.size, m.pages, m.page_size_log2) == (5, 5, 0)
    assert not rt.wasmaot_memory_is_guarded(m)  # explicit checks: host pages are 4 KiB
    assert rt.wasmaot_memory_grow(m, 7) == 5 and m.size == 12
    assert rt.wasmaot_memory_grow(m, 100000) == -1
    default_max = new_memory(page_size_log2=0, min=0)
    assert default_max.max_pages == 2**32 - 1


def test_bad_page_size_is_refused(new_memory):
    with pytest.raises(RuntimeError, match="unsupported memory page size"):
        new_memory(page_size_log2=12)


def test_a_memory_shared_between_instances_outlives_its_creator(make_instance, rt):
    a = make_instance()
    b = make_instance("import_memory", memory=a.memory)
    assert b.memory == a.memory
    b.call(STORE, 1000, 0x12345678)
    assert a.call(LOAD, 1000) == 0x12345678
    assert b.op(MEM_GROW, 1) == 1 and a.op(MEM_PAGES) == 2
    a.free()  # b still holds a reference
    assert b.call(LOAD, 1000) == 0x12345678
    assert b.call(LOAD, PAGE + 4) == 0


def test_memory_import_checks(make_instance, new_memory):
    with pytest.raises(RuntimeError, match='^import "env" "mem": no maximum, but the import requires at most 4 pages$'):
        make_instance("import_memory", memory=new_memory())
    with pytest.raises(RuntimeError, match="index type mismatch"):
        make_instance("import_memory", memory=new_memory(is64=1, max=4))
    with pytest.raises(RuntimeError, match="size of 0 pages is below the required minimum of 1"):
        make_instance("import_memory", memory=new_memory(min=0, max=4))
    with pytest.raises(RuntimeError, match='^import "env" "mem": no memory given$'):
        make_instance("import_memory", memory=None)


def test_guard_page_code_refuses_a_memory_without_guard_reservation(make_instance, new_memory):
    """SANDBOX: code compiled without bounds checks must never get a memory whose
    reservation ends at its maximum."""
    explicit = new_memory(config={"explicit_bounds_checks": 1}, min=1, max=4)
    with pytest.raises(RuntimeError, match="relies on guard pages but the memory has no guard reservation"):
        make_instance("import_memory", memory=explicit)
    # A module compiled with explicit checks may import it.
    inst = make_instance("import_memory_explicit", memory=explicit,
                         config={"explicit_bounds_checks": 1})
    assert inst.memory == explicit


@pytest.mark.parametrize("variant", ["plain", "import_memory"])
def test_a_config_cannot_take_the_guard_from_code_compiled_for_it(make_instance, new_memory,
                                                                  variant):
    """SANDBOX: the config's explicit_bounds_checks once made a defined memory without
    the guard reservation, and excused an imported one, for code that checks nothing:
    its accesses up to 8 GiB past the base reached memory that was not its own.  What
    the code checks is its descriptor's to say; a config that contradicts it is refused."""
    explicit = new_memory(config={"explicit_bounds_checks": 1}, min=1, max=4)
    memory = explicit if variant == "import_memory" else None
    with pytest.raises(RuntimeError, match="^memory 0: the module's code relies on guard pages"):
        make_instance(variant, memory=memory, config={"explicit_bounds_checks": 1})


def test_freeing_instances_releases_their_reservations(make_instance):
    def vm_size_kib():
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmSize:"))

    before = vm_size_kib()
    for _ in range(50):
        make_instance().free()
    assert vm_size_kib() - before < 64 * 1024  # not 50 x 8 GiB


def test_host_sees_wasm_writes_through_the_memory_record(make_instance):
    inst = make_instance()
    inst.call(STORE, 64, 0x01020304)
    assert inst.mem_bytes(64, 4) == bytes([4, 3, 2, 1])
    ffi.buffer(inst.memory.base + 128, 4)[:] = bytes([1, 0, 0, 0])
    assert inst.call(LOAD, 128) == 1
    assert inst.call(CALL_HOST, 1) == 1001
