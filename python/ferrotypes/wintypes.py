"""Windows data type names (``ctypes.wintypes``), as ctypes defines them on Linux too.

The names are aliases of ferrotypes' own types with the sizes *this* platform gives
them (on 64-bit Linux ``DWORD`` is ``c_ulong``, 8 bytes, exactly as in ctypes'
module), plus ``VARIANT_BOOL``, pointer types and a few structures. Nothing here
talks to Windows.

The structures (``RECT``, ``POINT``, ``MSG``, ``FILETIME``, ...) and the pointer types
to them are built by :func:`_define_structures` the first time one of their names is
looked up, through the module's ``__getattr__``: that needs ``ferrotypes.Structure``;
while ferrotypes has no structures, looking them up raises ``AttributeError`` saying so.
"""

import ferrotypes as _ft
from ferrotypes import POINTER as _POINTER

# --- integers, characters, floating point -------------------------------------------

BYTE = _ft.c_byte
WORD = _ft.c_ushort
DWORD = _ft.c_ulong

CHAR = _ft.c_char
WCHAR = _ft.c_wchar
UINT = _ft.c_uint
INT = _ft.c_int

DOUBLE = _ft.c_double
FLOAT = _ft.c_float

BOOLEAN = BYTE
BOOL = _ft.c_long


class VARIANT_BOOL(_ft._SimpleCData):
    """A 16-bit truth value: any non-zero bit pattern reads as True; True is stored
    as -1 (all bits set)."""

    _type_ = "v"


ULONG = _ft.c_ulong
LONG = _ft.c_long

USHORT = _ft.c_ushort
SHORT = _ft.c_short

# Windows' 64-bit integers are, in ctypes' module, this platform's longs.
_LARGE_INTEGER = LARGE_INTEGER = _ft.c_longlong if _ft.sizeof(_ft.c_long) != 8 else _ft.c_long
_ULARGE_INTEGER = ULARGE_INTEGER = _ft.c_ulonglong if _ft.sizeof(_ft.c_ulong) != 8 else _ft.c_ulong

# --- strings ------------------------------------------------------------------------

LPCOLESTR = LPOLESTR = OLESTR = _ft.c_wchar_p
LPCWSTR = LPWSTR = _ft.c_wchar_p
LPCSTR = LPSTR = _ft.c_char_p
LPCVOID = LPVOID = _ft.c_void_p

# WPARAM and LPARAM are pointer-sized integers.
if _ft.sizeof(_ft.c_long) == _ft.sizeof(_ft.c_void_p):
    WPARAM, LPARAM = _ft.c_ulong, _ft.c_long
else:
    WPARAM, LPARAM = _ft.c_ulonglong, _ft.c_longlong

ATOM = WORD
LANGID = WORD

COLORREF = DWORD
LGRPID = DWORD
LCTYPE = DWORD
LCID = DWORD

# --- handles: all void * ------------------------------------------------------------

HANDLE = _ft.c_void_p

HACCEL = HBITMAP = HBRUSH = HCOLORSPACE = HDC = HDESK = HDWP = HANDLE
HENHMETAFILE = HFONT = HGDIOBJ = HGLOBAL = HHOOK = HICON = HINSTANCE = HANDLE
HKEY = HKL = HLOCAL = HMENU = HMETAFILE = HMODULE = HMONITOR = HPALETTE = HANDLE
HPEN = HRGN = HRSRC = HSTR = HTASK = HWINSTA = HWND = HANDLE
SC_HANDLE = SERVICE_STATUS_HANDLE = HANDLE

MAX_PATH = 260


def RGB(red, green, blue):
    """A ``COLORREF`` value: red in the low byte, then green, then blue."""
    return red + (green << 8) + (blue << 16)


# --- pointers to the simple types ---------------------------------------------------

LPBOOL = PBOOL = _POINTER(BOOL)
PBOOLEAN = _POINTER(BOOLEAN)
LPBYTE = PBYTE = _POINTER(BYTE)
PCHAR = _POINTER(CHAR)
LPCOLORREF = _POINTER(COLORREF)
LPDWORD = PDWORD = _POINTER(DWORD)
PFLOAT = _POINTER(FLOAT)
LPHANDLE = PHANDLE = _POINTER(HANDLE)
PHKEY = _POINTER(HKEY)
LPHKL = _POINTER(HKL)
LPINT = PINT = _POINTER(INT)
PLARGE_INTEGER = _POINTER(LARGE_INTEGER)
PLCID = _POINTER(LCID)
LPLONG = PLONG = _POINTER(LONG)
LPSC_HANDLE = _POINTER(SC_HANDLE)
PSHORT = _POINTER(SHORT)
LPUINT = PUINT = _POINTER(UINT)
PULARGE_INTEGER = _POINTER(ULARGE_INTEGER)
PULONG = _POINTER(ULONG)
PUSHORT = _POINTER(USHORT)
PWCHAR = _POINTER(WCHAR)
LPWORD = PWORD = _POINTER(WORD)


# --- structures ---------------------------------------------------------------------

def _define_structures():
    """Defines the structures and the pointer types to them as module globals."""
    from ferrotypes import Structure

    class RECT(Structure):
        _fields_ = [("left", LONG), ("top", LONG), ("right", LONG), ("bottom", LONG)]

    class _SMALL_RECT(Structure):
        _fields_ = [("Left", SHORT), ("Top", SHORT), ("Right", SHORT), ("Bottom", SHORT)]

    class _COORD(Structure):
        _fields_ = [("X", SHORT), ("Y", SHORT)]

    class POINT(Structure):
        _fields_ = [("x", LONG), ("y", LONG)]

    class SIZE(Structure):
        _fields_ = [("cx", LONG), ("cy", LONG)]

    class FILETIME(Structure):
        _fields_ = [("dwLowDateTime", DWORD), ("dwHighDateTime", DWORD)]

    class MSG(Structure):
        _fields_ = [("hWnd", HWND), ("message", UINT), ("wParam", WPARAM),
                    ("lParam", LPARAM), ("time", DWORD), ("pt", POINT)]

    class WIN32_FIND_DATAA(Structure):
        _fields_ = [("dwFileAttributes", DWORD), ("ftCreationTime", FILETIME),
                    ("ftLastAccessTime", FILETIME), ("ftLastWriteTime", FILETIME),
                    ("nFileSizeHigh", DWORD), ("nFileSizeLow", DWORD),
                    ("dwReserved0", DWORD), ("dwReserved1", DWORD),
                    ("cFileName", CHAR * MAX_PATH), ("cAlternateFileName", CHAR * 14)]

    class WIN32_FIND_DATAW(Structure):
        _fields_ = [("dwFileAttributes", DWORD), ("ftCreationTime", FILETIME),
                    ("ftLastAccessTime", FILETIME), ("ftLastWriteTime", FILETIME),
                    ("nFileSizeHigh", DWORD), ("nFileSizeLow", DWORD),
                    ("dwReserved0", DWORD), ("dwReserved1", DWORD),
                    ("cFileName", WCHAR * MAX_PATH), ("cAlternateFileName", WCHAR * 14)]

    names = {
        "RECT": RECT, "tagRECT": RECT, "_RECTL": RECT, "RECTL": RECT,
        "_SMALL_RECT": _SMALL_RECT, "SMALL_RECT": _SMALL_RECT,
        "_COORD": _COORD,
        "POINT": POINT, "tagPOINT": POINT, "_POINTL": POINT, "POINTL": POINT,
        "SIZE": SIZE, "tagSIZE": SIZE, "SIZEL": SIZE,
        "FILETIME": FILETIME, "_FILETIME": FILETIME,
        "MSG": MSG, "tagMSG": MSG,
        "WIN32_FIND_DATAA": WIN32_FIND_DATAA, "WIN32_FIND_DATAW": WIN32_FIND_DATAW,
    }
    pointers = {
        ("LPFILETIME", "PFILETIME"): FILETIME,
        ("LPMSG", "PMSG"): MSG,
        ("LPPOINT", "PPOINT", "PPOINTL"): POINT,
        ("LPRECT", "PRECT", "LPRECTL", "PRECTL"): RECT,
        ("LPSIZE", "PSIZE", "LPSIZEL", "PSIZEL"): SIZE,
        ("PSMALL_RECT",): _SMALL_RECT,
        ("LPWIN32_FIND_DATAA", "PWIN32_FIND_DATAA"): WIN32_FIND_DATAA,
        ("LPWIN32_FIND_DATAW", "PWIN32_FIND_DATAW"): WIN32_FIND_DATAW,
    }
    for aliases, struct in pointers.items():
        pointer_type = _POINTER(struct)
        for alias in aliases:
            names[alias] = pointer_type
    globals().update(names)


_STRUCTURE_NAMES = frozenset({
    "RECT", "tagRECT", "_RECTL", "RECTL", "_SMALL_RECT", "SMALL_RECT", "_COORD",
    "POINT", "tagPOINT", "_POINTL", "POINTL", "SIZE", "tagSIZE", "SIZEL", "FILETIME",
    "_FILETIME", "MSG", "tagMSG", "WIN32_FIND_DATAA", "WIN32_FIND_DATAW",
    "LPFILETIME", "PFILETIME", "LPMSG", "PMSG", "LPPOINT", "PPOINT", "PPOINTL",
    "LPRECT", "PRECT", "LPRECTL", "PRECTL", "LPSIZE", "PSIZE", "LPSIZEL", "PSIZEL",
    "PSMALL_RECT", "LPWIN32_FIND_DATAA", "PWIN32_FIND_DATAA", "LPWIN32_FIND_DATAW",
    "PWIN32_FIND_DATAW",
})


def __getattr__(name):
    # Only reached for names not yet in the module: the structures, on first use.
    if name in _STRUCTURE_NAMES:
        try:
            _define_structures()
        except ImportError as exc:
            raise AttributeError("ferrotypes.wintypes.%s is a structure and needs "
                                 "ferrotypes.Structure, which is not available: %s"
                                 % (name, exc)) from exc
        return globals()[name]
    raise AttributeError("module %r has no attribute %r" % (__name__, name))
