"""Lowering of exception handling: `throw`, `throw_ref`, `try_table`, and the legacy
`try` / `catch` / `catch_all` / `delegate` / `rethrow` (docs/RATIONALE.md, "Exceptions").

A *handler scope* is a `try_table`, or a legacy `try` while its body (not yet a catch)
is lowered.  Inside one, a call that may unwind is an `invoke` whose unwind edge goes
to the scope's landing pad (FunctionEmitter.unwind_label).  The pad is a `cleanup`
landingpad: the runtime's personality installs it whatever the exception's tag, since
only this code can read the vmctx.  It hands the exception to the scope's dispatch,
which compares the exception's tag instance with each catch clause's
(`vmctx->tags[x]`: an imported tag is the exporter's instance, so tags match across
modules by address), in order, and branches to the first that matches.  Without a
match the exception goes on to the enclosing scope's dispatch in the same function,
or leaves the function with `resume`.

Exception objects (abi.EXCEPTION) are made by the runtime; their payload cells follow
the header.  A `catch` or `catch_all` that keeps no reference frees the object (the
runtime frees it only if no exnref was ever handed out); `catch_ref`,
`catch_all_ref` and a legacy `catch` (whose body may `rethrow` it) mark it
referenced (storing 1, which also clears the runtime's in-flight bit), and the
runtime's collector frees it once nothing names it (runtime_c/exception.c).
"""

from __future__ import annotations

from . import abi
from .types import llvm_type

_LANDING = "{ ptr, i32 }"


class HandlerScope:
    """The landing pad and dispatch of one try_table or legacy try."""

    __slots__ = ("pad", "dispatch", "exn", "incoming", "clauses")

    def __init__(self, fx, clauses: list) -> None:
        self.pad = None  # label of the landingpad block, made on first use
        self.dispatch = fx.label("dispatch")
        self.exn = fx.tmp()  # the exception, in the dispatch block and every handler
        self.incoming = []  # (pred label, exception) reaching the dispatch
        # (kind, tagidx, target) in order; the target is a try_table clause's Frame, or
        # a legacy handler's label (added as its `catch` is lowered).
        self.clauses = clauses


def _cell(fx, exn: str, i: int) -> str:
    """The address of payload cell `i` of `exn`."""
    p = fx.tmp()
    fx.emit(f"{p} = getelementptr inbounds i8, ptr {exn}, i64 "
            f"{abi.EXCEPTION_VALUES + i * abi.VALUE_SIZE}")
    return p


def _payload(fx, tagidx: int, exn: str) -> list:
    """Load the payload cells of `exn` (an exception of tag `tagidx`) as (type, value)."""
    out = []
    for i, t in enumerate(fx.mod.tag_type(tagidx).params):
        ty = llvm_type(t)
        v = fx.tmp()
        fx.emit(f"{v} = load {ty}, ptr {_cell(fx, exn, i)}, align 16")
        out.append((ty, v))
    return out


def _mark_referenced(fx, exn: str) -> None:
    p = fx.tmp()
    fx.emit(f"{p} = getelementptr inbounds i8, ptr {exn}, i64 "
            f"{abi.EXCEPTION.offset('referenced')}")
    fx.emit(f"store i64 1, ptr {p}, align 8")


def _throw_object(fx, exn: str) -> None:
    """Throw `exn`; the rest of the frame is dead."""
    pad = fx.unwind_label()
    if pad is None:
        fx.emit(f"call void @wasmaot_rt_throw(ptr %ctx, ptr {exn})")
    else:
        never = fx.label("thrown")
        fx.emit(f"invoke void @wasmaot_rt_throw(ptr %ctx, ptr {exn}) "
                f"to label %{never} unwind label %{pad}")
        fx.start_block(never)
    fx.emit("unreachable")
    fx.set_dead()


# --- instructions ---------------------------------------------------------------


def _throw(fx, op, imms) -> None:
    tagidx = imms[0]
    values = fx.popn(len(fx.mod.tag_type(tagidx).params))
    exn = fx.tmp()
    fx.emit(f"{exn} = call ptr @wasmaot_rt_exception_new(ptr %ctx, i32 {tagidx})")
    for i, (ty, v) in enumerate(values):
        fx.emit(f"store {ty} {v}, ptr {_cell(fx, exn, i)}, align 16")
    _throw_object(fx, exn)


def _throw_ref(fx, op, imms) -> None:
    _throw_object(fx, fx.pop())  # the runtime traps on null


def _try_table(fx, op, imms) -> None:
    bt, catches = imms[0]
    # A clause's label is counted from outside the try_table.
    clauses = [(c.kind, c.tagidx, fx.frames[-1 - c.labelidx]) for c in catches]
    frame = fx.push_frame("try_table", bt)
    if not frame.dead:
        frame.scope = HandlerScope(fx, clauses)
        frame.scope_active = True


def _try(fx, op, imms) -> None:
    frame = fx.push_frame("try", imms[0])
    if not frame.dead:
        frame.scope = HandlerScope(fx, [])
        frame.scope_active = True


def _catch_clause(fx, kind: str, tagidx: int | None) -> None:
    """A legacy `catch x` or `catch_all`: end the try body or the previous handler, and
    lower what follows as the handler of this clause."""
    frame = fx.frames[-1]
    if frame.entered_dead:
        return
    fx.end_arm(frame)
    frame.scope_active = False  # the handlers are outside the try's scope
    frame.dead = False
    label = fx.label("handler")
    frame.scope.clauses.append((kind, tagidx, label))
    fx.start_block(label)
    _mark_referenced(fx, frame.scope.exn)  # `rethrow` may name it
    if tagidx is not None:
        for ty, v in _payload(fx, tagidx, frame.scope.exn):
            fx.push(ty, v)


def _catch(fx, op, imms) -> None:
    _catch_clause(fx, "catch", imms[0])


def _catch_all(fx, op, imms) -> None:
    _catch_clause(fx, "catch_all", None)


def _rethrow(fx, op, imms) -> None:
    _throw_object(fx, fx.frames[-1 - imms[0]].scope.exn)


def _delegate(fx, op, imms) -> None:
    """Ends a legacy try whose exceptions go to the handler scope of the label'th frame
    outside it (the function's caller when that is the function body)."""
    frame = fx.frames[-1]
    if not frame.entered_dead:
        frame.delegate_to = fx.frames[-2 - imms[0]]
    fx.end_frame()


EXCEPTION_HANDLERS = {
    "throw": _throw, "throw_ref": _throw_ref, "try_table": _try_table, "try": _try,
    "catch": _catch, "catch_all": _catch_all, "rethrow": _rethrow, "delegate": _delegate,
}


# --- the end of a scope: landing pad and dispatch -----------------------------------


def close_scope(fx, frame) -> None:
    """Emit `frame`'s landing pad and dispatch, after its body (and, for a legacy try,
    its handlers) and before its end label.  Called by FunctionEmitter.end_frame."""
    scope = frame.scope
    if scope.pad is not None:
        fx.start_block(scope.pad)
        lp = fx.tmp()
        fx.emit(f"{lp} = landingpad {_LANDING} cleanup")
        exn = fx.tmp()
        fx.emit(f"{exn} = extractvalue {_LANDING} {lp}, 0")
        scope.incoming.append((fx.cur, exn))
        fx.emit(f"br label %{scope.dispatch}")
    if not scope.incoming and not scope.clauses:
        return  # nothing reaches it, and no handler names its exception
    fx.start_block(scope.dispatch)
    if scope.incoming:
        arms = ", ".join(f"[ {e}, %{pred} ]" for pred, e in scope.incoming)
        fx.emit(f"{scope.exn} = phi ptr {arms}")
    else:  # unreachable, but the legacy handlers use the name
        fx.emit(f"{scope.exn} = getelementptr i8, ptr null, i64 0")
    tag = None
    for kind, tagidx, target in scope.clauses:
        if tagidx is None:  # catch_all*: takes everything, later clauses are dead
            _enter_clause(fx, kind, None, scope.exn, target)
            return
        if tag is None:
            tag = fx.load_field(scope.exn, abi.EXCEPTION, "tag", "ptr")
        same = fx.tmp()
        fx.emit(f"{same} = icmp eq ptr {tag}, {fx.ctx_array_item('tags', tagidx)}")
        match, next_ = fx.label("caught"), fx.label("nomatch")
        fx.emit(f"br i1 {same}, label %{match}, label %{next_}")
        fx.start_block(match)
        _enter_clause(fx, kind, tagidx, scope.exn, target)
        fx.start_block(next_)
    _pass_on(fx, frame, scope.exn)


def _enter_clause(fx, kind: str, tagidx: int | None, exn: str, target) -> None:
    """Branch from the dispatch to a clause: a legacy handler's label, or a try_table
    clause's label with the payload (and the exnref for the *_ref kinds)."""
    if isinstance(target, str):  # a legacy handler: it loads the payload itself
        fx.emit(f"br label %{target}")
        return
    values = [v for _, v in _payload(fx, tagidx, exn)] if tagidx is not None else []
    if kind.endswith("_ref"):
        _mark_referenced(fx, exn)
        values.append(exn)
    else:
        fx.emit(f"call void @wasmaot_rt_exception_free(ptr %ctx, ptr {exn})")
    label = fx.branch_target(target, values)
    fx.emit(f"br label %{label}")


def _pass_on(fx, frame, exn: str) -> None:
    """No clause matched: the enclosing scope in this function (or, after `delegate`,
    the one around its label) gets the exception, else the caller."""
    outer = fx.enclosing_scope(frame.delegate_to)  # `frame` is off the stack already
    if outer is None:
        agg = fx.tmp()
        fx.emit(f"{agg} = insertvalue {_LANDING} undef, ptr {exn}, 0")
        fx.emit(f"resume {_LANDING} {agg}")
        fx.has_landing_pad = True
        return
    outer.incoming.append((fx.cur, exn))
    fx.emit(f"br label %{outer.dispatch}")
