"""Threads: the type caches give one class per key whatever the threads do, and eight
threads doing mixed work (type creation, calls, callbacks, field stores, resize,
garbage collection) for a fixed number of iterations get correct results.
"""

import gc
import sys
import threading

import pytest

import ferrotypes as C

THREADS = 8


@pytest.fixture(autouse=True)
def fast_switching():
    """Thread switches every few microseconds, so that class creation is interleaved."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(old)


def all_at_once(make, rounds):
    """For each round, ``THREADS`` threads call ``make(round)`` at the same moment;
    returns, per round, the set of distinct objects they got."""
    barrier = threading.Barrier(THREADS)
    got = [[None] * THREADS for _ in range(rounds)]

    def work(slot):
        for r in range(rounds):
            barrier.wait()
            got[r][slot] = make(r)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [{id(x) for x in row} for row in got]


def test_array_types_are_one_class_per_key():
    base = 100_000  # lengths no other test has used
    rows = all_at_once(lambda r: C.c_int * (base + r), 300)
    assert all(len(row) == 1 for row in rows)
    # ... and the class every thread got is the one the cache gives now.
    assert (C.c_int * base)() is not None
    a = (C.c_int * (base + 7))()
    b = (C.c_int * (base + 7))()
    a[:] = b[:]  # the same class: no "incompatible types" between its instances


def test_pointer_types_are_one_class_per_key():
    targets = [type(C.Structure)("T%d" % i, (C.Structure,), {"_fields_": [("x", C.c_int)]}) for i in range(300)]
    rows = all_at_once(lambda r: C.POINTER(targets[r]), len(targets))
    assert all(len(row) == 1 for row in rows)
    p = C.pointer(targets[5](3))
    assert isinstance(p, C.POINTER(targets[5]))


def test_function_types_are_one_class_per_key():
    rows = all_at_once(lambda r: C.CFUNCTYPE(C.c_int, *([C.c_int] * (r % 40)), C.c_char * (r + 1)), 300)
    assert all(len(row) == 1 for row in rows)


def test_mixed_work_in_eight_threads(fttest_path):
    libc = C.CDLL(None)
    qsort = libc.qsort
    qsort.restype = None
    compare = C.CFUNCTYPE(C.c_int, C.POINTER(C.c_int), C.POINTER(C.c_int))
    labs = libc["labs"]
    labs.argtypes = [C.c_long]
    labs.restype = C.c_long
    errors = []
    iterations = 300

    class Point(C.Structure):
        _fields_ = [("x", C.c_int), ("y", C.c_double), ("name", C.c_char * 8)]

    def work(seed):
        try:
            for i in range(iterations):
                n = 1 + (seed * 31 + i) % 50
                # A type made by every thread (cached) and one only this thread makes.
                shared = C.c_int * n
                mine = type(C.Structure)("P%d_%d" % (seed, i), (C.Structure,),
                                          {"_fields_": [("a", C.c_short), ("b", shared)]})
                record = mine(7, shared(*range(n)))
                assert (record.a, list(record.b)) == (7, list(range(n)))
                # Field stores and reads.
                p = Point(i, seed / 2, b"t%d" % seed)
                p.x += 1
                assert (p.x, p.y, p.name) == (i + 1, seed / 2, b"t%d" % seed)
                # A call, and a call that calls back into Python.
                assert labs(-i * seed) == i * seed
                values = shared(*[(k * 7919 + seed) % 101 for k in range(n)])
                cmp = compare(lambda a, b: a[0] - b[0])
                qsort(values, n, C.sizeof(C.c_int), cmp)
                assert list(values) == sorted((k * 7919 + seed) % 101 for k in range(n))
                # Resize and pointers into the grown memory.
                buf = C.create_string_buffer(8)
                C.resize(buf, 64 + n)
                C.memset(buf, ord("a") + seed, 64 + n)
                assert C.string_at(buf, 64 + n) == bytes([ord("a") + seed]) * (64 + n)
                ptr = C.cast(buf, C.POINTER(C.c_char))
                assert ptr[63 + n] == bytes([ord("a") + seed])
                if i % 50 == 0:
                    gc.collect()
        except BaseException as exc:  # a PanicException too
            errors.append((seed, exc))

    threads = [threading.Thread(target=work, args=(s,)) for s in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
