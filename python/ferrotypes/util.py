"""Find shared libraries by their short name, the way ``ctypes.util`` does.

``find_library("m")`` answers the question "which file would the linker use
for ``-lm``?" and returns the name to hand to ``CDLL`` (on Linux the SONAME,
e.g. ``"libm.so.6"``), or ``None`` when the library cannot be found.

This module is the ferrotypes counterpart of ``ctypes.util`` and follows the
same search order as CPython 3.11 on Linux, so both give the same answers:

1. the dynamic loader cache (``/sbin/ldconfig -p``), restricted to entries
   built for this interpreter's ABI (e.g. ``libc6,x86-64``);
2. a link trace from the C compiler (``gcc -Wl,-t ... -l<name>``), whose
   library file is then asked for its SONAME with ``objdump``;
3. a link trace from ``ld -t``, searching the directories of
   ``LD_LIBRARY_PATH`` as well, again mapped to the SONAME.

The helper names (``_findSoname_ldconfig``, ``_findLib_gcc``, ``_findLib_ld``,
``_get_soname``, ``_is_elf``) match the private helpers of ``ctypes.util``:
CPython's own test suite patches them by name, and ``find_library`` looks
them up at call time so such patches take effect.

External tools are always run with an argument list (never through a shell),
so a library name cannot inject shell commands.
"""

import os
import re
import shutil
import subprocess
import tempfile

# The first four bytes of every ELF object.
_ELF_MAGIC = b"\x7fELF"

# ldconfig -p tags each cache entry with the ABI it was built for, e.g.
#     libm.so.6 (libc6,x86-64) => /lib/x86_64-linux-gnu/libm.so.6
# Keys are "<uname machine>-<bits of a C long>"; anything else is "libc6".
_LDCONFIG_ABI = {
    "x86_64-64": "libc6,x86-64",
    "ppc64-64": "libc6,64bit",
    "sparc64-64": "libc6,64bit",
    "s390x-64": "libc6,64bit",
    "ia64-64": "libc6,IA-64",
}

# Environment that keeps tool output in the untranslated "C" locale, so the
# patterns below match whatever the user's locale is.
_C_LOCALE = {"LC_ALL": "C", "LANG": "C"}


def _is_elf(filename: str | bytes) -> bool:
    """Return True if *filename* starts with the ELF magic number.

    Link traces may name linker scripts (e.g. glibc's ``libc.so``), which
    are text files and not loadable; those are rejected here.
    """
    try:
        with open(filename, "rb") as stream:
            return stream.read(len(_ELF_MAGIC)) == _ELF_MAGIC
    except OSError:
        return False


def _library_file_pattern(name: str) -> "re.Pattern[bytes]":
    """Bytes regex matching a path to ``lib<name>.<something>`` in a trace."""
    return re.compile(
        os.fsencode(r"[^()\s]*lib%s\.[^()\s]*" % re.escape(name)))


def _first_elf(paths: list[bytes]) -> str | None:
    """Return the first of *paths* (bytes) that is an ELF file, as str."""
    for path in paths:
        if _is_elf(path):
            return os.fsdecode(path)
    return None


def _machine_abi() -> str:
    """The ldconfig ABI tag for the running interpreter."""
    import struct

    bits = struct.calcsize("l") * 8
    key = "%s-%d" % (os.uname().machine, bits)
    return _LDCONFIG_ABI.get(key, "libc6")


def _findSoname_ldconfig(name: str) -> str | None:
    """Look *name* up in the dynamic loader cache; return the SONAME or None.

    The first cache entry ``lib<name>.*`` tagged with this machine's ABI wins
    (ldconfig lists newer versions first).
    """
    pattern = re.compile(os.fsencode(
        r"\s+(lib%s\.[^\s]+)\s+\(%s" % (re.escape(name),
                                         re.escape(_machine_abi()))))
    try:
        with subprocess.Popen(["/sbin/ldconfig", "-p"],
                              stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL,
                              env=dict(_C_LOCALE)) as proc:
            listing = proc.stdout.read()  # type: ignore[union-attr]  # stdout=PIPE
    except OSError:
        return None
    found = pattern.search(listing)
    if found is None:
        return None
    return os.fsdecode(found.group(1))


def _findLib_gcc(name: str) -> str | None:
    """Ask the C compiler's linker which file ``-l<name>`` resolves to.

    Links an empty program with ``-Wl,-t`` so the linker prints every input
    file it opens. The link itself fails (there is no ``main``); only the
    trace matters. Returns the path of the library file, or None.
    """
    compiler = shutil.which("gcc") or shutil.which("cc")
    if not compiler:
        return None

    env = dict(os.environ)
    env.update(_C_LOCALE)
    # The compiler needs somewhere to write its output; it deletes the file
    # itself when the link fails, so closing may find it already gone.
    output = tempfile.NamedTemporaryFile()
    try:
        argv = [compiler, "-Wl,-t", "-o", output.name, "-l" + name]
        try:
            proc = subprocess.Popen(argv,
                                    stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT,
                                    env=env)
        except OSError:
            return None
        with proc:
            trace = proc.stdout.read()  # type: ignore[union-attr]  # stdout=PIPE
    finally:
        try:
            output.close()
        except FileNotFoundError:
            pass
    return _first_elf(_library_file_pattern(name).findall(trace))


def _findLib_ld(name: str) -> str | None:
    """Ask ``ld -t`` which file ``-l<name>`` resolves to.

    Unlike the compiler trace, this also searches every directory listed in
    ``LD_LIBRARY_PATH`` (passed to ld as ``-L`` options), which finds
    libraries that are neither in the loader cache nor on the default
    linker path. Returns the path of the library file, or None.
    """
    argv = ["ld", "-t"]
    search_path = os.environ.get("LD_LIBRARY_PATH")
    if search_path:
        for directory in search_path.split(":"):
            argv += ["-L", directory]
    argv += ["-o", os.devnull, "-l" + name]
    try:
        proc = subprocess.run(argv,
                              stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    except Exception:
        return None
    return _first_elf(_library_file_pattern(name).findall(proc.stdout))


def _get_soname(path: str | None) -> str | None:
    """Return the SONAME recorded in the ELF file *path*, or None.

    Reads the dynamic section with GNU binutils' ``objdump``. A false *path*
    (the previous search step found nothing) gives None.
    """
    if not path:
        return None
    objdump = shutil.which("objdump")
    if not objdump:
        return None
    try:
        with subprocess.Popen([objdump, "-p", "-j", ".dynamic", path],
                              stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL) as proc:
            dump = proc.stdout.read()  # type: ignore[union-attr]  # stdout=PIPE
    except OSError:
        return None
    found = re.search(rb"\sSONAME\s+(\S+)", dump)
    if found is None:
        return None
    return os.fsdecode(found.group(1))


def find_library(name: str) -> str | None:
    """Return the name to load library *name* by (e.g. ``"libm.so.6"``).

    *name* is the library name without ``lib`` prefix, suffix or version, as
    given to the linker's ``-l`` option. Returns None if the library is not
    found. The result is a name for the dynamic loader, usually not a path.
    """
    if "\0" in name:
        # It would reach the loader cache search and the linker's command line.
        raise ValueError("embedded null byte")
    return (_findSoname_ldconfig(name)
            or _get_soname(_findLib_gcc(name))
            or _get_soname(_findLib_ld(name)))
