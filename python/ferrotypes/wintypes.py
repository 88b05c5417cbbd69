"""Windows data type names (``ctypes.wintypes``), as ctypes defines them on Linux too.

The names are aliases of ferrotypes' own types with the sizes *this* platform gives
them (on 64-bit Linux ``DWORD`` is ``c_ulong``, 8 bytes, exactly as in ctypes'
module), plus ``VARIANT_BOOL``, pointer types and the structures ctypes' module
defines (``RECT``, ``POINT``, ``MSG``, ``FILETIME``, ...). Nothing here talks to
Windows.
"""

import sys as _sys

import ferrotypes as _ft
from ferrotypes import POINTER as _POINTER

# --- integers, characters, floating point -------------------------------------------

# Windows' BYTE is unsigned; ctypes made it so in 3.12.
BYTE = _ft.c_ubyte if _sys.version_info >= (3, 12) else _ft.c_byte
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
_LONG_IS_POINTER_SIZED = _ft.sizeof(_ft.c_long) == _ft.sizeof(_ft.c_void_p)
WPARAM = _ft.c_ulong if _LONG_IS_POINTER_SIZED else _ft.c_ulonglong
LPARAM = _ft.c_long if _LONG_IS_POINTER_SIZED else _ft.c_longlong

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

class RECT(_ft.Structure):
    _fields_ = [("left", LONG), ("top", LONG), ("right", LONG), ("bottom", LONG)]


tagRECT = _RECTL = RECTL = RECT


class _SMALL_RECT(_ft.Structure):
    _fields_ = [("Left", SHORT), ("Top", SHORT), ("Right", SHORT), ("Bottom", SHORT)]


SMALL_RECT = _SMALL_RECT


class _COORD(_ft.Structure):
    _fields_ = [("X", SHORT), ("Y", SHORT)]


class POINT(_ft.Structure):
    _fields_ = [("x", LONG), ("y", LONG)]


tagPOINT = _POINTL = POINTL = POINT


class SIZE(_ft.Structure):
    _fields_ = [("cx", LONG), ("cy", LONG)]


tagSIZE = SIZEL = SIZE


class FILETIME(_ft.Structure):
    _fields_ = [("dwLowDateTime", DWORD), ("dwHighDateTime", DWORD)]


_FILETIME = FILETIME


class MSG(_ft.Structure):
    _fields_ = [("hWnd", HWND), ("message", UINT), ("wParam", WPARAM),
                ("lParam", LPARAM), ("time", DWORD), ("pt", POINT)]


tagMSG = MSG


class WIN32_FIND_DATAA(_ft.Structure):
    _fields_ = [("dwFileAttributes", DWORD), ("ftCreationTime", FILETIME),
                ("ftLastAccessTime", FILETIME), ("ftLastWriteTime", FILETIME),
                ("nFileSizeHigh", DWORD), ("nFileSizeLow", DWORD),
                ("dwReserved0", DWORD), ("dwReserved1", DWORD),
                ("cFileName", CHAR * MAX_PATH), ("cAlternateFileName", CHAR * 14)]


class WIN32_FIND_DATAW(_ft.Structure):
    _fields_ = [("dwFileAttributes", DWORD), ("ftCreationTime", FILETIME),
                ("ftLastAccessTime", FILETIME), ("ftLastWriteTime", FILETIME),
                ("nFileSizeHigh", DWORD), ("nFileSizeLow", DWORD),
                ("dwReserved0", DWORD), ("dwReserved1", DWORD),
                ("cFileName", WCHAR * MAX_PATH), ("cAlternateFileName", WCHAR * 14)]


# --- pointers to the structures -----------------------------------------------------

LPFILETIME = PFILETIME = _POINTER(FILETIME)
LPMSG = PMSG = _POINTER(MSG)
LPPOINT = PPOINT = PPOINTL = _POINTER(POINT)
LPRECT = PRECT = LPRECTL = PRECTL = _POINTER(RECT)
LPSIZE = PSIZE = LPSIZEL = PSIZEL = _POINTER(SIZE)
PSMALL_RECT = _POINTER(SMALL_RECT)
LPWIN32_FIND_DATAA = PWIN32_FIND_DATAA = _POINTER(WIN32_FIND_DATAA)
LPWIN32_FIND_DATAW = PWIN32_FIND_DATAW = _POINTER(WIN32_FIND_DATAW)
