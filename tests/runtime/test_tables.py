"""Tables (grow/fill/copy/init/elem.drop and their bounds), call_indirect's checks, the
type registry with subtyping, and function imports between instances."""

from __future__ import annotations

import itertools

import pytest
from harness import (
    CALL_HOST,
    CALL_INDIRECT,
    DIV,
    ELEM_DROP,
    INNER,
    READ_GLOBAL,
    TABLE_COPY,
    TABLE_FILL,
    TABLE_GET,
    TABLE_GROW,
    TABLE_INIT,
    TABLE_SIZE,
    TRIPLED,
    TYPE_MATCHES,
    ffi,
)

from wasmaot.errors import Trap

TABLE_OOB = "^undefined element: out of bounds table access$"
NULL = -1


def contents(inst):
    return [inst.op(TABLE_GET, i) for i in range(inst.op(TABLE_SIZE))]


def test_active_element_segment_was_applied(make_instance):
    inst = make_instance()
    assert contents(inst) == [INNER, TRIPLED, DIV, NULL]
    with pytest.raises(Trap, match=TABLE_OOB):
        inst.op(TABLE_GET, 4)


def test_call_indirect_checks(make_instance):
    inst = make_instance()
    assert inst.call(CALL_INDIRECT, 0, 7) == 7  # inner: exactly the expected type
    assert inst.call(CALL_INDIRECT, 1, 5) == 15  # tripled: a declared subtype (type 4 <: 1)
    with pytest.raises(Trap, match="^indirect call type mismatch$"):
        inst.call(CALL_INDIRECT, 2, 5)  # div has type 2
    with pytest.raises(Trap, match="^uninitialized element$"):
        inst.call(CALL_INDIRECT, 3, 5)
    with pytest.raises(Trap, match=TABLE_OOB):
        inst.call(CALL_INDIRECT, 4, 5)
    with pytest.raises(Trap, match=TABLE_OOB):
        inst.call(CALL_INDIRECT, -1, 5)


def test_grow(make_instance):
    inst = make_instance()
    assert inst.op(TABLE_GROW, READ_GLOBAL, 2) == 4
    assert contents(inst) == [INNER, TRIPLED, DIV, NULL, READ_GLOBAL, READ_GLOBAL]
    assert inst.op(TABLE_GROW, NULL, 0) == 6
    assert inst.op(TABLE_GROW, NULL, 5) == -1  # 11 > max 10
    assert inst.op(TABLE_GROW, NULL, 2**62) == -1
    assert inst.op(TABLE_GROW, NULL, 4) == 6 and inst.op(TABLE_SIZE) == 10
    assert inst.call(CALL_INDIRECT, 4, 1) == 43  # read_global + 1


def test_fill(make_instance):
    inst = make_instance()
    inst.op(TABLE_FILL, 2, INNER, 2)
    assert contents(inst) == [INNER, TRIPLED, INNER, INNER]
    with pytest.raises(Trap, match=TABLE_OOB):
        inst.op(TABLE_FILL, 2, NULL, 3)
    assert contents(inst) == [INNER, TRIPLED, INNER, INNER]  # nothing written
    inst.op(TABLE_FILL, 4, NULL, 0)
    with pytest.raises(Trap, match=TABLE_OOB):
        inst.op(TABLE_FILL, 5, NULL, 0)
    inst.op(TABLE_FILL, 0, NULL, 4)
    assert contents(inst) == [NULL] * 4


def test_copy(make_instance):
    inst = make_instance()
    inst.op(TABLE_COPY, 1, 0, 3)  # overlapping, forwards
    assert contents(inst) == [INNER, INNER, TRIPLED, DIV]
    inst.op(TABLE_COPY, 0, 1, 3)  # overlapping, backwards
    assert contents(inst) == [INNER, TRIPLED, DIV, DIV]
    with pytest.raises(Trap, match=TABLE_OOB):
        inst.op(TABLE_COPY, 2, 0, 3)
    with pytest.raises(Trap, match=TABLE_OOB):
        inst.op(TABLE_COPY, 0, 2, 3)
    assert contents(inst) == [INNER, TRIPLED, DIV, DIV]
    inst.op(TABLE_COPY, 4, 4, 0)


def test_init_and_elem_drop(make_instance):
    inst = make_instance()
    inst.op(TABLE_INIT, 1, 0, 3)
    assert contents(inst) == [INNER, READ_GLOBAL, TRIPLED, INNER]
    with pytest.raises(Trap, match=TABLE_OOB):
        inst.op(TABLE_INIT, 0, 1, 3)  # source past the segment
    with pytest.raises(Trap, match=TABLE_OOB):
        inst.op(TABLE_INIT, 2, 0, 3)  # destination past the table
    assert contents(inst) == [INNER, READ_GLOBAL, TRIPLED, INNER]
    inst.op(TABLE_INIT, 0, 3, 0)
    inst.op(ELEM_DROP)
    inst.op(TABLE_INIT, 0, 0, 0)
    with pytest.raises(Trap, match=TABLE_OOB):
        inst.op(TABLE_INIT, 0, 0, 1)


def test_type_registry(rt):
    reg = rt.wasmaot_rt_register_type
    assert reg(5000, -1) == 0 and reg(5000, -1) == 0  # idempotent
    assert reg(5000, 7) == -1  # conflicting supertype
    assert reg(5001, 5000) == 0 and reg(5002, 5001) == 0
    assert reg(5003, 5003) == -1  # its own supertype
    assert reg(5010, 5011) == 0 and reg(5011, 5010) == -1  # would close a cycle
    assert reg(1 << 24, -1) == -1  # ids are small and dense
    vm = ffi.NULL
    assert rt.wasmaot_rt_func_type_matches(vm, 5002, 5000) == 1
    assert rt.wasmaot_rt_func_type_matches(vm, 5000, 5002) == 0
    assert rt.wasmaot_rt_func_type_matches(vm, 5002, 5002) == 1
    assert rt.wasmaot_rt_func_type_matches(vm, 9999, 5000) == 0  # unregistered
    chain = list(range(6000, 6070))
    results = [reg(chain[0], -1)] + [reg(t, s) for s, t in itertools.pairwise(chain)]
    assert results[:65] == [0] * 65 and results[65] == -1  # at most 64 supertypes above a type
    assert rt.wasmaot_rt_func_type_matches(vm, 6064, 6000) == 1


def test_embedder_type_ids(make_instance, rt):
    assert rt.wasmaot_rt_register_type(7004, 7001) == 0
    inst = make_instance(type_ids=[7000, 7001, 7002, 7003, 7004])
    assert list(inst.vmctx.type_ids[0:5]) == [7000, 7001, 7002, 7003, 7004]
    assert inst.func(TRIPLED).type_id == 7004
    assert inst.call(CALL_INDIRECT, 1, 2) == 6  # the registered subtype matches
    assert inst.op(TYPE_MATCHES, 7004, 7001) == 1 and inst.op(TYPE_MATCHES, 7001, 7004) == 0
    other = make_instance(type_ids=[8000, 8001, 8002, 8003, 8004])  # 8004: no supertype
    with pytest.raises(Trap, match="^indirect call type mismatch$"):
        other.call(CALL_INDIRECT, 1, 2)


def test_function_import_from_another_instance(make_instance):
    a = make_instance()
    b = make_instance(func=a.func(TRIPLED))  # type 4 for an import of type 1: a subtype
    assert b.call(CALL_HOST, 5) == 15
    assert b.func(0).vmctx == a.vmctx  # runs in the exporter's instance
    with pytest.raises(RuntimeError, match='^import "env" "host": function type mismatch$'):
        make_instance(func=a.func(DIV))


def test_host_made_tables(rt):
    desc = ffi.new("struct wasmaot_table_desc *", {"min": 2, "max": 3, "is64": 0, "reftype": 0x6F})
    marker = ffi.new("int *")
    t = rt.wasmaot_table_new(desc, marker, ffi.NULL, ffi.NULL, 0)
    try:
        assert t.size == 2 and t.elems[0] == marker and t.elems[1] == marker
        assert rt.wasmaot_table_grow(t, 1, ffi.NULL) == 2 and t.elems[2] == ffi.NULL
        assert rt.wasmaot_table_grow(t, 1, ffi.NULL) == -1
    finally:
        rt.wasmaot_table_release(t)
    err = ffi.new("char[100]")
    big = ffi.new("struct wasmaot_table_desc *", {"min": 100, "max": 2**64 - 1, "reftype": 0x70})
    cfg = ffi.new("struct wasmaot_config *", {"max_table_elements": 50})
    assert rt.wasmaot_table_new(big, ffi.NULL, cfg, err, 100) == ffi.NULL
    assert ffi.string(err) == b"table minimum of 100 elements exceeds the limit of 50"


def test_host_made_globals(rt):
    init = ffi.new("union wasmaot_value *", {"i64": -5})
    g = rt.wasmaot_global_new(0x7E, 1, init)
    try:
        assert g.value.i64 == -5 and g.valtype == 0x7E and g.mutable == 1
        assert int(ffi.cast("uintptr_t", ffi.addressof(g, "value"))) % 16 == 0
    finally:
        rt.wasmaot_global_release(g)
