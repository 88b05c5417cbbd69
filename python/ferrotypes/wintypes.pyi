# Types of ferrotypes.wintypes, with the sizes 64-bit Linux gives them (as ctypes.wintypes
# does there): simple types are aliases of ferrotypes' types, pointer types are
# _Pointer[...] aliases, and the structures' fields are typed field descriptors.

from typing import TypeAlias

from ferrotypes import (
    Structure,
    c_byte,
    c_char,
    c_char_p,
    c_double,
    c_float,
    c_int,
    c_long,
    c_short,
    c_uint,
    c_ulong,
    c_ushort,
    c_void_p,
    c_wchar,
    c_wchar_p,
)
from ferrotypes._ctypes import Array, CField, _Pointer, _SimpleCData

class VARIANT_BOOL(_SimpleCData[bool]): ...
class FILETIME(Structure):
    dwLowDateTime: CField[c_ulong, int, c_ulong | int]
    dwHighDateTime: CField[c_ulong, int, c_ulong | int]

class MSG(Structure):
    hWnd: CField[c_void_p, int | None, c_void_p | int | None]
    message: CField[c_uint, int, c_uint | int]
    wParam: CField[c_ulong, int, c_ulong | int]
    lParam: CField[c_long, int, c_long | int]
    time: CField[c_ulong, int, c_ulong | int]
    pt: CField[POINT, POINT, POINT]

class POINT(Structure):
    x: CField[c_long, int, c_long | int]
    y: CField[c_long, int, c_long | int]

class RECT(Structure):
    left: CField[c_long, int, c_long | int]
    top: CField[c_long, int, c_long | int]
    right: CField[c_long, int, c_long | int]
    bottom: CField[c_long, int, c_long | int]

class SIZE(Structure):
    cx: CField[c_long, int, c_long | int]
    cy: CField[c_long, int, c_long | int]

class WIN32_FIND_DATAA(Structure):
    dwFileAttributes: CField[c_ulong, int, c_ulong | int]
    ftCreationTime: CField[FILETIME, FILETIME, FILETIME]
    ftLastAccessTime: CField[FILETIME, FILETIME, FILETIME]
    ftLastWriteTime: CField[FILETIME, FILETIME, FILETIME]
    nFileSizeHigh: CField[c_ulong, int, c_ulong | int]
    nFileSizeLow: CField[c_ulong, int, c_ulong | int]
    dwReserved0: CField[c_ulong, int, c_ulong | int]
    dwReserved1: CField[c_ulong, int, c_ulong | int]
    cFileName: CField[Array[c_char], bytes, bytes]
    cAlternateFileName: CField[Array[c_char], bytes, bytes]

class WIN32_FIND_DATAW(Structure):
    dwFileAttributes: CField[c_ulong, int, c_ulong | int]
    ftCreationTime: CField[FILETIME, FILETIME, FILETIME]
    ftLastAccessTime: CField[FILETIME, FILETIME, FILETIME]
    ftLastWriteTime: CField[FILETIME, FILETIME, FILETIME]
    nFileSizeHigh: CField[c_ulong, int, c_ulong | int]
    nFileSizeLow: CField[c_ulong, int, c_ulong | int]
    dwReserved0: CField[c_ulong, int, c_ulong | int]
    dwReserved1: CField[c_ulong, int, c_ulong | int]
    cFileName: CField[Array[c_wchar], str, str]
    cAlternateFileName: CField[Array[c_wchar], str, str]

class _COORD(Structure):
    X: CField[c_short, int, c_short | int]
    Y: CField[c_short, int, c_short | int]

class _SMALL_RECT(Structure):
    Left: CField[c_short, int, c_short | int]
    Top: CField[c_short, int, c_short | int]
    Right: CField[c_short, int, c_short | int]
    Bottom: CField[c_short, int, c_short | int]

ATOM = c_ushort
BOOL = c_long
BOOLEAN = c_byte
BYTE = c_byte
CHAR = c_char
COLORREF = c_ulong
DOUBLE = c_double
DWORD = c_ulong
FLOAT = c_float
HACCEL = c_void_p
HANDLE = c_void_p
HBITMAP = c_void_p
HBRUSH = c_void_p
HCOLORSPACE = c_void_p
HDC = c_void_p
HDESK = c_void_p
HDWP = c_void_p
HENHMETAFILE = c_void_p
HFONT = c_void_p
HGDIOBJ = c_void_p
HGLOBAL = c_void_p
HHOOK = c_void_p
HICON = c_void_p
HINSTANCE = c_void_p
HKEY = c_void_p
HKL = c_void_p
HLOCAL = c_void_p
HMENU = c_void_p
HMETAFILE = c_void_p
HMODULE = c_void_p
HMONITOR = c_void_p
HPALETTE = c_void_p
HPEN = c_void_p
HRGN = c_void_p
HRSRC = c_void_p
HSTR = c_void_p
HTASK = c_void_p
HWINSTA = c_void_p
HWND = c_void_p
INT = c_int
LANGID = c_ushort
LARGE_INTEGER = c_long
LCID = c_ulong
LCTYPE = c_ulong
LGRPID = c_ulong
LONG = c_long
LPARAM = c_long
LPBOOL: TypeAlias = _Pointer[c_long]
LPBYTE: TypeAlias = _Pointer[c_byte]
LPCOLESTR = c_wchar_p
LPCOLORREF: TypeAlias = _Pointer[c_ulong]
LPCSTR = c_char_p
LPCVOID = c_void_p
LPCWSTR = c_wchar_p
LPDWORD: TypeAlias = _Pointer[c_ulong]
LPFILETIME: TypeAlias = _Pointer[FILETIME]
LPHANDLE: TypeAlias = _Pointer[c_void_p]
LPHKL: TypeAlias = _Pointer[c_void_p]
LPINT: TypeAlias = _Pointer[c_int]
LPLONG: TypeAlias = _Pointer[c_long]
LPMSG: TypeAlias = _Pointer[MSG]
LPOLESTR = c_wchar_p
LPPOINT: TypeAlias = _Pointer[POINT]
LPRECT: TypeAlias = _Pointer[RECT]
LPRECTL: TypeAlias = _Pointer[RECT]
LPSC_HANDLE: TypeAlias = _Pointer[c_void_p]
LPSIZE: TypeAlias = _Pointer[SIZE]
LPSIZEL: TypeAlias = _Pointer[SIZE]
LPSTR = c_char_p
LPUINT: TypeAlias = _Pointer[c_uint]
LPVOID = c_void_p
LPWIN32_FIND_DATAA: TypeAlias = _Pointer[WIN32_FIND_DATAA]
LPWIN32_FIND_DATAW: TypeAlias = _Pointer[WIN32_FIND_DATAW]
LPWORD: TypeAlias = _Pointer[c_ushort]
LPWSTR = c_wchar_p
MAX_PATH: int
OLESTR = c_wchar_p
PBOOL: TypeAlias = _Pointer[c_long]
PBOOLEAN: TypeAlias = _Pointer[c_byte]
PBYTE: TypeAlias = _Pointer[c_byte]
PCHAR: TypeAlias = _Pointer[c_char]
PDWORD: TypeAlias = _Pointer[c_ulong]
PFILETIME: TypeAlias = _Pointer[FILETIME]
PFLOAT: TypeAlias = _Pointer[c_float]
PHANDLE: TypeAlias = _Pointer[c_void_p]
PHKEY: TypeAlias = _Pointer[c_void_p]
PINT: TypeAlias = _Pointer[c_int]
PLARGE_INTEGER: TypeAlias = _Pointer[c_long]
PLCID: TypeAlias = _Pointer[c_ulong]
PLONG: TypeAlias = _Pointer[c_long]
PMSG: TypeAlias = _Pointer[MSG]
POINTL = POINT
PPOINT: TypeAlias = _Pointer[POINT]
PPOINTL: TypeAlias = _Pointer[POINT]
PRECT: TypeAlias = _Pointer[RECT]
PRECTL: TypeAlias = _Pointer[RECT]
PSHORT: TypeAlias = _Pointer[c_short]
PSIZE: TypeAlias = _Pointer[SIZE]
PSIZEL: TypeAlias = _Pointer[SIZE]
PSMALL_RECT: TypeAlias = _Pointer[_SMALL_RECT]
PUINT: TypeAlias = _Pointer[c_uint]
PULARGE_INTEGER: TypeAlias = _Pointer[c_ulong]
PULONG: TypeAlias = _Pointer[c_ulong]
PUSHORT: TypeAlias = _Pointer[c_ushort]
PWCHAR: TypeAlias = _Pointer[c_wchar]
PWIN32_FIND_DATAA: TypeAlias = _Pointer[WIN32_FIND_DATAA]
PWIN32_FIND_DATAW: TypeAlias = _Pointer[WIN32_FIND_DATAW]
PWORD: TypeAlias = _Pointer[c_ushort]
RECTL = RECT
def RGB(red: int, green: int, blue: int) -> int: ...
SC_HANDLE = c_void_p
SERVICE_STATUS_HANDLE = c_void_p
SHORT = c_short
SIZEL = SIZE
SMALL_RECT = _SMALL_RECT
UINT = c_uint
ULARGE_INTEGER = c_ulong
ULONG = c_ulong
USHORT = c_ushort
WCHAR = c_wchar
WORD = c_ushort
WPARAM = c_ulong
_FILETIME = FILETIME
_LARGE_INTEGER = c_long
_POINTL = POINT
_RECTL = RECT
_ULARGE_INTEGER = c_ulong
tagMSG = MSG
tagPOINT = POINT
tagRECT = RECT
tagSIZE = SIZE
