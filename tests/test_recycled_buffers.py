"""Buffers made again from released ones (data/recycled.rs): `create_string_buffer(n)`
and `create_unicode_buffer(n)` reuse freed instances of the class they made last.
Whatever is reused, every buffer behaves as a new one does in stdlib ctypes: zeroed,
separate from the buffers still alive, with its audit event, its class's finaliser,
no attributes or weak references of a previous buffer, and the collector's view of it.
Every test runs the same steps on ctypes and ferrotypes and compares."""

import ctypes
import gc
import subprocess
import sys
import textwrap
import tracemalloc
import weakref

from hypothesis import given, settings
from hypothesis import strategies as st

import ferrotypes

MODULES = (ctypes, ferrotypes)

# A step: make a buffer of a length (kept alive, or dropped at once), fill a live one,
# or drop a live one.
steps = st.lists(st.one_of(
    st.tuples(st.just("make"), st.sampled_from([0, 1, 7, 64, 64, 64, 100]), st.booleans(), st.booleans()),
    st.tuples(st.just("fill"), st.integers(0, 50), st.integers(1, 255)),
    st.tuples(st.just("drop"), st.integers(0, 50)),
), max_size=40)


def run_steps(m, sequence):
    """What each step sees: new buffers' class, length and contents (zero), and every
    live buffer's contents after each step (nothing written to one shows in another)."""
    live, fills, seen = [], [], []
    for step in sequence:
        if step[0] == "make":
            _, n, keep, wide = step
            buf = (m.create_unicode_buffer if wide else m.create_string_buffer)(n)
            seen.append((type(buf)._length_, type(buf)._type_.__name__, buf[:] == type(buf)()[:]))
            if keep:
                live.append(buf)
                fills.append(None)
            del buf
        elif live and step[0] == "fill":
            i = step[1] % len(live)
            buf = live[i]
            value = chr(step[2]) if isinstance(buf[:], str) else bytes([step[2]])
            for j in range(len(buf)):
                buf[j] = value
            fills[i] = value
        elif live and step[0] == "drop":
            i = step[1] % len(live)
            del live[i], fills[i]
        seen.append([buf[:] == (fill or type(buf)()[:1]) * len(buf) for buf, fill in zip(live, fills)])
    return seen


@settings(max_examples=150, deadline=None)
@given(sequence=steps)
def test_buffers_made_and_freed_in_any_order_are_zeroed_and_separate(sequence):
    assert run_steps(ctypes, sequence) == run_steps(ferrotypes, sequence)


def test_a_buffer_kept_while_others_are_made_and_freed_is_untouched():
    for m in MODULES:
        kept = m.create_string_buffer(64)
        kept.raw = b"k" * 64
        addresses = set()
        for _ in range(50):
            buf = m.create_string_buffer(64)
            assert buf.raw == bytes(64)
            addresses.add(m.addressof(buf))
            buf.raw = b"x" * 64
            del buf
        assert kept.raw == b"k" * 64
        assert m.addressof(kept) not in addresses


def test_released_buffers_are_made_again_without_their_attributes_or_weak_references():
    for m in MODULES:
        results = []
        for _ in range(5):
            buf = m.create_string_buffer(64)
            results.append((hasattr(buf, "tag"), dict(buf.__dict__), weakref.getweakrefcount(buf), buf._objects))
            buf.tag = "old"
            del buf
            buf = m.create_string_buffer(64)
            called = []
            ref = weakref.ref(buf, lambda r: called.append(r))
            results.append((weakref.getweakrefcount(buf), ref() is buf))
            del buf
            results.append((ref(), len(called)))
        assert results == [(False, {}, 0, None), (1, True), (None, 1)] * 5, m


def test_memory_exported_by_a_freed_buffer_stays_its_own():
    for m in MODULES:
        buf = m.create_string_buffer(64)
        buf.raw = b"v" * 64
        view = memoryview(buf)
        del buf
        others = [m.create_string_buffer(64) for _ in range(10)]
        assert bytes(view) == b"v" * 64 and all(o.raw == bytes(64) for o in others)
        view.release()


def subclass_run(m):
    base = m.c_char * 64
    events = []

    class WithDel(base):
        def __del__(self):
            events.append(("del", self.raw[:1]))

    class Slotted(base):
        __slots__ = ("extra",)

    for cls in (WithDel, Slotted, base):
        for _ in range(3):
            obj = cls()
            obj.raw = b"s" * 64
            del obj
            buf = m.create_string_buffer(64)
            events.append((type(buf) is base, buf.raw == bytes(64)))
            del buf
    return events


def test_subclass_instances_freed_between_buffers_match_ctypes():
    assert subclass_run(ctypes) == subclass_run(ferrotypes)


def test_a_finaliser_set_on_the_buffer_class_runs_as_in_ctypes():
    """The class a buffer of this length gets is shared (`c_char * 173`): a `__del__`
    set on it, then removed, runs for exactly the buffers freed meanwhile."""
    counts = []
    for m in MODULES:
        cls = m.c_char * 173
        calls = []
        for _ in range(3):
            m.create_string_buffer(173)
        cls.__del__ = lambda self: calls.append(len(self))
        try:
            for _ in range(4):
                buf = m.create_string_buffer(173)
                assert type(buf) is cls
                del buf
        finally:
            del cls.__del__
        for _ in range(3):
            m.create_string_buffer(173)
        counts.append(calls)
    assert counts[0] == counts[1] == [173] * 4


def test_an_attribute_set_on_the_buffer_class_is_seen_by_the_next_buffers():
    for m in MODULES:
        cls = m.c_char * 171
        for _ in range(3):
            m.create_string_buffer(171)
        cls.marker = "set"
        try:
            assert m.create_string_buffer(171).marker == "set"
        finally:
            del cls.marker
        assert not hasattr(m.create_string_buffer(171), "marker")


def test_buffers_are_tracked_by_the_collector_and_freed_ones_are_not_found():
    for m in MODULES:
        for _ in range(3):
            buf = m.create_string_buffer(64)
            assert gc.is_tracked(buf)
            marker = id(buf)
            del buf
            assert not any(id(o) == marker and type(o).__name__ == "c_char_Array_64" for o in gc.get_objects())
        gc.collect()


def test_the_class_reference_count_returns_to_where_it_was():
    for m in MODULES:
        cls = m.c_char * 64
        m.create_string_buffer(64)
        before = sys.getrefcount(cls)
        bufs = [m.create_string_buffer(64) for _ in range(20)]
        assert sys.getrefcount(cls) == before + 20
        del bufs
        assert sys.getrefcount(cls) == before, m


def test_buffers_made_while_tracemalloc_traces_are_right():
    tracemalloc.start()
    try:
        for m in MODULES:
            for n in (64, 64, 32, 64):
                bufs = [m.create_string_buffer(n) for _ in range(12)]
                assert all(b.raw == bytes(n) for b in bufs)
                del bufs
        tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()


def test_resized_and_viewed_instances_of_the_buffer_class_are_right_after_release():
    for m in MODULES:
        cls = m.c_char * 64
        m.create_string_buffer(64)
        grown = m.create_string_buffer(64)
        m.resize(grown, 200)
        grown_address = m.addressof(grown)
        del grown
        block = bytearray(b"b" * 64)
        view = cls.from_buffer(block)
        del view
        copied = cls.from_buffer_copy(b"c" * 64)
        del copied
        bufs = [m.create_string_buffer(64) for _ in range(4)]
        assert all(b.raw == bytes(64) for b in bufs) and block == bytearray(b"b" * 64)
        assert grown_address not in {m.addressof(b) for b in bufs} or m is ctypes


def test_audit_events_are_raised_for_every_buffer_as_in_ctypes():
    script = textwrap.dedent("""
        import sys
        import {module} as m
        events = []
        def hook(event, args):
            if event.startswith("ctypes.create_"):
                events.append((event, args))
        sys.addaudithook(hook)
        for n in (64, 64, 64, 32, 64):
            m.create_string_buffer(n)
            buf = m.create_unicode_buffer(n)
            del buf
        kept = [m.create_string_buffer(64) for _ in range(3)]
        print(events)
    """)
    outputs = [subprocess.run([sys.executable, "-c", script.format(module=name)], capture_output=True,
                              text=True, check=True).stdout for name in ("ctypes", "ferrotypes")]
    assert outputs[0] == outputs[1]
    assert outputs[1].count("ctypes.create_string_buffer") == 8


def test_an_audit_hook_refusing_a_buffer_leaves_the_kept_ones_usable():
    script = textwrap.dedent("""
        import sys
        import {module} as m
        refuse = []
        def hook(event, args):
            if event == "ctypes.create_string_buffer" and refuse:
                raise RuntimeError("refused")
        sys.addaudithook(hook)
        for _ in range(3):
            m.create_string_buffer(64)
        refuse.append(1)
        try:
            m.create_string_buffer(64)
        except RuntimeError as exc:
            print(exc)
        refuse.clear()
        print([m.create_string_buffer(64).raw == bytes(64) for _ in range(3)])
    """)
    outputs = [subprocess.run([sys.executable, "-c", script.format(module=name)], capture_output=True,
                              text=True, check=True).stdout for name in ("ctypes", "ferrotypes")]
    assert outputs[0] == outputs[1] == "refused\n[True, True, True]\n"


def test_buffers_released_at_interpreter_exit_do_not_crash():
    script = textwrap.dedent("""
        import ferrotypes as m
        bufs = [m.create_string_buffer(64) for _ in range(20)]
        del bufs[:10]
        keep = m.create_unicode_buffer(16)
        print("ok")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout == "ok\n" and done.stderr == ""
