"""Memory with an owner (ferrotypes' own addition to the ctypes API).

``Arena``: C data allocated for the length of a ``with`` block and freed all at once
when it ends. ``owned(obj, destructor)``: an instance whose memory is released by a
destructor (``free``, ``fclose``, ``sqlite3_close``, a Python callable) exactly once,
when it is collected or at ``release(obj)``.

Either way the memory may be taken back while Python still holds instances over it:
those instances, and the fields, elements and pointer targets read from them, then
raise ``ValueError`` on any access instead of reading freed memory (the check is the
extension's: ``_ctypes._Lease``). Freeing is refused with ``BufferError`` while a
buffer view of the memory (a ``memoryview``, a numpy array) is open.
"""

import sys

from ferrotypes import _ctypes


class Arena(_ctypes._Lease):
    """C data freed all at once: ``with ferrotypes.Arena() as arena:`` — when the block
    ends (or at ``close()``), everything ``new`` and ``string`` made is freed, and an
    instance still referring to it raises ``ValueError`` on any access.

    Closing raises ``BufferError``, and the arena stays open, while a buffer view of
    its memory exists (``memoryview(x)``, ``numpy.frombuffer(x)``, ``T.from_buffer(x)``).
    """

    __slots__ = ()

    def __enter__(self):
        if not self._alive:
            raise ValueError("the arena is closed")
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        self.close()

    def new(self, cls, *init, **fields):
        """A new instance of the ctypes type ``cls`` (``c_int``, a structure,
        ``c_double * n``) in zeroed arena memory, initialised with ``init`` (and, for a
        structure, keyword ``fields``) as ``cls(*init, **fields)`` would be.
        ``MemoryError`` when there is no memory for it, ``ValueError`` once the arena
        is closed."""
        instance = _ctypes._arena_new(self, cls)
        if init or fields:
            cls.__init__(instance, *init, **fields)
        return instance

    def string(self, init, size=None):
        """A NUL-terminated copy of the bytes ``init`` in arena memory: a ``c_char``
        array as ``create_string_buffer(init, size)`` makes it (``init`` an int: that
        many zeroed bytes)."""
        from ferrotypes import c_char

        if isinstance(init, bytes):
            if size is None:
                size = len(init) + 1
            elif not isinstance(size, int):
                raise TypeError("string() size must be an int, not %s" % type(size).__name__)
            if len(init) > size:
                raise ValueError("byte string too long (%d bytes for a %d-byte buffer)" % (len(init), size))
            buffer = self.new(c_char * size)
            buffer.raw = init if len(init) == size else init + bytes(1)
            return buffer
        if isinstance(init, int) and size is None:
            return self.new(c_char * init)
        raise TypeError("string() takes bytes (or an int size), not %s" % type(init).__name__)

    def close(self):
        """Frees the arena's memory (a no-op once closed). ``BufferError``, the arena
        staying open, while a buffer view of its memory is open."""
        self._revoke("its arena was closed")

    @property
    def closed(self):
        """True once the arena's memory has been freed."""
        return not self._alive

    def __repr__(self):
        return "<ferrotypes.Arena (%s) at %#x>" % ("closed" if self.closed else "open", id(self))


class _Owner(_ctypes._Lease):
    """The owner record of an instance made by ``owned()``: the original object and its
    destructor, called once (by ``release``, or when the record is collected, which is
    when the owned instance and every view of it are)."""

    __slots__ = ("_obj", "_destructor")

    def __init__(self, obj, destructor):
        self._obj = obj
        self._destructor = destructor

    def _release(self):
        # _revoke answers True once, atomically (the GIL is held through it): exactly one
        # caller, whatever the threads do, gets to call the destructor.
        if self._revoke("it was released (ferrotypes.release, or its destructor ran)"):
            obj, destructor = self._obj, self._destructor
            self._obj = self._destructor = None
            destructor(obj)

    def __del__(self):
        # An exception from the destructor here goes to sys.unraisablehook.
        self._release()


def owned(obj, destructor):
    """An instance of ``obj``'s class over the same memory, whose release calls
    ``destructor(obj)`` exactly once: when it is collected (with every view of it), or
    at ``release()``. ``destructor`` is a foreign function (``libc.free``,
    ``sqlite3_close``) or any Python callable; it gets ``obj``, so a pointer passes the
    address it holds. From the release on, the instance and the fields, elements and
    targets read from it raise ``ValueError`` on any access."""
    if not callable(destructor):
        raise TypeError("owned() destructor must be callable (a foreign function or a Python function), not %s"
                        % type(destructor).__name__)
    return _ctypes._owned_view(_Owner(obj, destructor), obj)


def release(obj):
    """Releases what ``obj`` owns now. For an instance made by ``owned()``: calls its
    destructor (whose exception, if any, is raised here) and makes the instance raise
    ``ValueError`` on any access; a second release does nothing; ``BufferError`` while
    a buffer view of the memory is open. For a callback of a ``keep_results=True``
    prototype: lets go of the results it kept alive (C must no longer use them)."""
    owner = getattr(obj, "_b_base_", None) if isinstance(obj, _ctypes._CDataBase) else None
    if isinstance(owner, _Owner):
        owner._release()
        return
    if isinstance(obj, _ctypes.CFuncPtr):
        _ctypes._release_results(obj)
        return
    raise TypeError("release() takes an instance made by ferrotypes.owned() or a callback of a keep_results=True "
                    "prototype, got %s" % _describe(obj))


def _result_address(value, restype):
    """What a callback of a ``keep_results=True`` prototype returning ``restype`` (a
    pointer type) gives C for the Python function's result ``value``, and what must be
    kept alive for it: ``(address, keep)``.

    None is NULL and an int an address (nothing kept); a ferrotypes or stdlib ctypes
    pointer gives the address it holds, an array or other instance its own address;
    ``bytes`` for ``c_char_p`` and ``str`` for ``c_wchar_p`` their characters; any
    other writable, C-contiguous buffer (a numpy array, a bytearray) its memory. Memory
    an Arena or ``owned()`` frees is refused: the callback could not keep it alive."""
    import ferrotypes as ft

    if value is None:
        return 0, None
    if isinstance(value, int):
        return ft.c_void_p(value).value or 0, None
    code = getattr(restype, "_type_", None)
    if isinstance(value, bytes) and code == "z":
        return ft.cast(ft.c_char_p(value), ft.c_void_p).value, value
    if isinstance(value, str) and code == "Z":
        characters = ft.c_wchar_p(value)
        return ft.cast(characters, ft.c_void_p).value, characters
    if isinstance(value, _ctypes._CDataBase):
        _refuse_owned_memory(value)
        return _instance_address(ft, value), value
    std = sys.modules.get("ctypes")
    if std is not None and isinstance(value, (std._SimpleCData, std._Pointer, std.Array, std.Structure, std.Union)):
        return _instance_address(std, value), value
    try:
        view = memoryview(value)
    except TypeError:
        raise TypeError("a keep_results callback returning %s must return a pointer, an array, a writable buffer "
                        "(a numpy array), an address or None, not %s" % (restype.__name__, type(value).__name__)) from None
    if view.readonly or not view.c_contiguous:
        raise TypeError("a keep_results callback must return writable, C-contiguous memory; %s is %s"
                        % (type(value).__name__, "read-only" if view.readonly else "not C-contiguous"))
    if view.nbytes == 0:
        raise ValueError("a keep_results callback returned an empty %s, which has no address to give C"
                         % type(value).__name__)
    # The memoryview, kept, holds the buffer export: the memory cannot move (a bytearray
    # cannot be resized) while C may use it.
    return ft.addressof(ft.c_char.from_buffer(view)), view


def _instance_address(module, value):
    """The address C gets for a ctypes instance of ``module`` (ferrotypes or ctypes): the
    one a pointer holds, else the instance's own."""
    if isinstance(value, (module._Pointer, module.Array)) or getattr(type(value), "_type_", None) in ("P", "z", "Z"):
        return module.cast(value, module.c_void_p).value or 0
    return module.addressof(value)


def _refuse_owned_memory(value):
    """``TypeError`` when ``value``'s memory belongs to an Arena or to ``owned()``."""
    base = value
    while isinstance(base, _ctypes._CDataBase):
        base = base._b_base_
    if isinstance(base, _ctypes._Lease):
        raise TypeError("a keep_results callback cannot keep memory that an Arena or owned() frees; "
                        "return memory it can keep (a new array, a numpy array)")


def _describe(obj):
    if isinstance(obj, _ctypes._CDataBase) and isinstance(getattr(obj, "_b_base_", None), Arena):
        return "an instance in an Arena (close the arena to free it)"
    return "%s instance" % type(obj).__name__
