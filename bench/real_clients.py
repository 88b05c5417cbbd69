#!/usr/bin/env python3
"""Real clients of ctypes, run on stdlib ctypes, on ferrotypes, and on cffi where the
client has a cffi backend: how much faster does a real program get?

    python bench/real_clients.py              # ~1-2 minutes (installs the clients once)
    python bench/real_clients.py --quick      # a few seconds: checks the machinery only
    python bench/real_clients.py --json out.json
    python bench/real_clients.py --callgrind  # instructions per operation (needs valgrind; minutes)

The clients, installed from PyPI into a cache directory on first use
(`pip install --target`, with the running interpreter's pip):

- pycryptodome: calls its C modules through ctypes, without argtypes, when cffi is not
  importable, and through cffi (ABI mode) when it is (Crypto/Util/_raw_api.py tries
  `import cffi` first).  Its columns: `ctypes` (cffi made unimportable), `cffi`, and
  `ferrotypes` (cffi made unimportable and `sys.modules["ctypes"]` set to ferrotypes,
  with its submodules, before pycryptodome is imported).
- pysodium: libsodium through ctypes, every call without argtypes (needs the system's
  libsodium, Debian's libsodium23); no cffi backend.

Each client and backend runs in its own process (this script with --child).  A child
checks that the backend it was given is the one in use, computes every operation's
result once (the parent requires the same bytes from every backend), then times each
operation: a loop calibrated to --target-ms, repeated --repeats times, on this
thread's CPU time; the figure is the median µs per operation.  Children run in
--rounds rounds, the backends in turn within a round, and the table shows the median
over rounds (with the spread of the rounds, the noise of a shared machine).

With --callgrind the figure is instead the number of instructions per operation,
counted by valgrind's callgrind: the difference between a process doing 2N and one
doing N operations, divided by N (start-up cancels), which does not depend on what
else the machine is doing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CLIENTS = {
    # client: (pip requirement, backends)
    "pycryptodome": ("pycryptodome==4.5.0", ["ctypes", "cffi", "ferrotypes"]),
    "pysodium": ("pysodium==0.7.19", ["ctypes", "ferrotypes"]),
}

KEY16 = bytes(range(16))
KEY32 = bytes(range(32))
NONCE12 = bytes(range(100, 112))
DATA64 = bytes(range(64))
BLOCK16 = bytes(range(16, 32))
KIB = bytes(i % 251 for i in range(1024))


# --------------------------------------------------------------------------
# Child: one client on one backend
# --------------------------------------------------------------------------

def use_backend(backend: str) -> None:
    """Arrange for the client's `import ctypes` / `import cffi` to find the backend."""
    if backend in ("ctypes", "ferrotypes"):
        sys.modules["cffi"] = None  # `import cffi` raises ImportError
    if backend == "ferrotypes":
        import ferrotypes
        import ferrotypes.util
        import ferrotypes.wintypes
        sys.modules["ctypes"] = ferrotypes
        sys.modules["ctypes.util"] = ferrotypes.util
        sys.modules["ctypes.wintypes"] = ferrotypes.wintypes


def pycryptodome_ops(backend: str) -> dict:
    from Crypto.Cipher import AES
    from Crypto.Hash import SHA256
    from Crypto.Util import _raw_api

    expected_backend = "cffi" if backend == "cffi" else "ctypes"
    if _raw_api.backend != expected_backend:
        raise SystemExit(f"pycryptodome uses its {_raw_api.backend} backend, not {expected_backend}")
    if backend != "cffi" and _raw_api.ctypes.__name__ != backend:
        raise SystemExit(f"pycryptodome's ctypes is {_raw_api.ctypes.__name__}, expected {backend}")
    ecb = AES.new(KEY16, AES.MODE_ECB)
    return {
        "SHA256.new(64 B).digest()": lambda: SHA256.new(DATA64).digest(),
        "AES.new(key, MODE_ECB)": lambda: AES.new(KEY16, AES.MODE_ECB),
        "AES-ECB encrypt(16 B)": lambda: ecb.encrypt(BLOCK16),
        "AES.new(key, MODE_GCM, nonce).encrypt_and_digest(1 KiB)":
            lambda: AES.new(KEY16, AES.MODE_GCM, nonce=NONCE12).encrypt_and_digest(KIB),
    }


def pysodium_ops(backend: str) -> dict:
    import pysodium

    if pysodium.ctypes.__name__ != backend:
        raise SystemExit(f"pysodium's ctypes is {pysodium.ctypes.__name__}, expected {backend}")
    return {
        "crypto_generichash(64 B)": lambda: pysodium.crypto_generichash(DATA64),
        "crypto_auth(64 B, key)": lambda: pysodium.crypto_auth(DATA64, KEY32),
        "crypto_secretbox(64 B)": lambda: pysodium.crypto_secretbox(DATA64, NONCE12 + NONCE12, KEY32),
    }


def result_bytes(value) -> str:
    """An operation's result as text, to compare across backends (a cipher object
    gives its class name)."""
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, tuple):
        return ",".join(result_bytes(v) for v in value)
    return type(value).__name__


def time_op(op, target_ns: float, repeats: int) -> float:
    clock = time.thread_time_ns
    n = 1
    while True:
        t0 = clock()
        for _ in range(n):
            op()
        elapsed = clock() - t0
        if elapsed >= target_ns / 4 or n >= 1 << 22:
            break
        n *= 4
    n = max(1, int(n * target_ns / max(elapsed, 1)))
    samples = []
    for _ in range(repeats):
        t0 = clock()
        for _ in range(n):
            op()
        samples.append((clock() - t0) / n / 1000)
    return statistics.median(samples)


def client_ops(client: str, backend: str, site: str) -> dict:
    sys.path.insert(0, site)
    use_backend(backend)
    return {"pycryptodome": pycryptodome_ops, "pysodium": pysodium_ops}[client](backend)


def child_count(client: str, backend: str, site: str, op_name: str, n: int) -> None:
    """The --callgrind child: one operation, once and then n times."""
    op = client_ops(client, backend, site)[op_name]
    op()
    for _ in range(n):
        op()


def child(client: str, backend: str, site: str, target_ms: float, repeats: int) -> None:
    ops = client_ops(client, backend, site)
    out = {"results": {}, "per_op": {}}
    for name, op in ops.items():
        out["results"][name] = result_bytes(op())
    for name, op in ops.items():
        if repeats:
            out["per_op"][name] = time_op(op, target_ms * 1e6, repeats)
    print(json.dumps(out))


# --------------------------------------------------------------------------
# Parent
# --------------------------------------------------------------------------

def install(requirement: str, cache: Path) -> Path:
    site = cache / requirement.replace("==", "-")
    if not (site / ".complete").exists():
        print(f"installing {requirement} into {site} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), requirement],
                       check=True)
        (site / ".complete").write_text("")
    return site


def cffi_available() -> bool:
    try:
        import cffi  # noqa: F401
    except ImportError:
        return False
    return True


def instructions(client: str, backend: str, site: Path, op_name: str, n: int) -> int:
    """Instructions callgrind counts in a child doing `op_name` n times (and once)."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/out", sys.executable,
               str(Path(__file__).resolve()), "--child-count", client, backend, str(site), op_name, str(n)]
        done = subprocess.run(cmd, capture_output=True, text=True)
    found = [line for line in done.stderr.splitlines() if "Collected :" in line]
    if done.returncode != 0 or not found:
        raise RuntimeError((done.stderr.strip().splitlines() or ["valgrind failed"])[-1])
    return int(found[-1].split(":")[-1])


def run_child_callgrind(client: str, backend: str, site: Path, opts) -> dict:
    """Instructions per operation for every operation of the client, and the results."""
    done = run_child(client, backend, site, opts, timing=False)
    if "error" in done:
        return done
    n = 50 if opts.quick else 1000
    try:
        per_op = {name: (instructions(client, backend, site, name, 2 * n) - instructions(client, backend, site, name, n)) / n
                  for name in done["results"]}
    except RuntimeError as exc:
        return {"error": str(exc)}
    return {"results": done["results"], "per_op": per_op}


def run_child(client: str, backend: str, site: Path, opts, timing: bool = True) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", client, backend, str(site),
           "--target-ms", str(opts.target_ms), "--repeats", str(opts.repeats if timing else 0)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny loops, one round: checks the machinery only")
    ap.add_argument("--rounds", type=int, default=None, help="processes per client and backend (default 3)")
    ap.add_argument("--repeats", type=int, default=None, help="timed loops per operation in a process (default 15)")
    ap.add_argument("--target-ms", type=float, default=None, help="length of one timed loop (default 20 ms)")
    ap.add_argument("--clients", nargs="+", choices=sorted(CLIENTS), default=sorted(CLIENTS))
    ap.add_argument("--backends", nargs="+", choices=["ctypes", "cffi", "ferrotypes"],
                    help="run only these backends (default: every one the client has)")
    ap.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "ferrotypes-real-clients"),
                    help="where the clients are installed")
    ap.add_argument("--json", metavar="PATH", help="also write every number to PATH")
    ap.add_argument("--callgrind", action="store_true",
                    help="count instructions per operation with valgrind instead of timing (one round)")
    ap.add_argument("--child", nargs=3, metavar=("CLIENT", "BACKEND", "SITE"), help=argparse.SUPPRESS)
    ap.add_argument("--child-count", nargs=5, help=argparse.SUPPRESS)
    opts = ap.parse_args(argv)
    if opts.child_count:
        client, backend, site, op_name, n = opts.child_count
        child_count(client, backend, site, op_name, int(n))
        return 0
    if opts.callgrind:
        opts.rounds = 1
    opts.rounds = opts.rounds or (1 if opts.quick else 3)
    opts.repeats = opts.repeats or (2 if opts.quick else 15)
    opts.target_ms = opts.target_ms or (0.5 if opts.quick else 20.0)
    if opts.child:
        child(opts.child[0], opts.child[1], opts.child[2], opts.target_ms, opts.repeats)
        return 0

    cache = Path(opts.cache)
    cache.mkdir(parents=True, exist_ok=True)
    report = {"python": sys.version.split()[0], "unit": "instructions" if opts.callgrind else "µs",
              "rounds": opts.rounds, "repeats": opts.repeats,
              "target_ms": opts.target_ms, "clients": {}}
    failed = False
    for client in opts.clients:
        requirement, backends = CLIENTS[client]
        try:
            site = install(requirement, cache)
        except subprocess.CalledProcessError as exc:
            print(f"{client}: could not install {requirement} ({exc})")
            failed = True
            continue
        notes = []
        if opts.backends:
            backends = [b for b in backends if b in opts.backends]
        if "cffi" in backends and not cffi_available():
            backends = [b for b in backends if b != "cffi"]
            notes.append("cffi column skipped: cffi is not importable here")
        runs: dict[str, list[dict]] = {b: [] for b in backends}
        for _ in range(opts.rounds):
            for backend in backends:
                run = run_child_callgrind if opts.callgrind else run_child
                runs[backend].append(run(client, backend, site, opts))
        errors = {b: r["error"] for b, rs in runs.items() for r in rs if "error" in r}
        ok = {b: rs for b, rs in runs.items() if b not in errors}
        results = {b: rs[0]["results"] for b, rs in ok.items()}
        if len({json.dumps(r, sort_keys=True) for r in results.values()}) > 1:
            errors["results"] = "backends gave different results: " + json.dumps(results)
        table = {}
        for name in next(iter(results.values()), {}):
            row = {}
            for b, rs in ok.items():
                values = sorted(r["per_op"][name] for r in rs)
                row[b] = {"per_op": statistics.median(values), "min": values[0], "max": values[-1]}
            table[name] = row
        report["clients"][client] = {"requirement": requirement, "backends": backends, "table": table,
                                     "errors": errors, "notes": notes}
        print_table(client, requirement, backends, table, errors, notes, opts)
        failed = failed or bool(errors)
    if opts.json:
        Path(opts.json).write_text(json.dumps(report, indent=2) + "\n")
        print(f"\nwrote {opts.json}")
    return 1 if failed else 0


def print_table(client, requirement, backends, table, errors, notes, opts) -> None:
    print()
    if opts.callgrind:
        print(f"{requirement}: instructions per operation (callgrind: 2N minus N operations, over N)"
              + ("  [quick: N = 50]" if opts.quick else ""))
    else:
        print(f"{requirement}: µs per operation, median of {opts.rounds} process(es) per backend "
              f"(each the median of {opts.repeats} loops of ~{opts.target_ms:g} ms, CPU time)"
              + ("  [quick: NOT meaningful]" if opts.quick else ""))
    for note in notes:
        print(f"  note: {note}")
    shown = [b for b in backends if all(b in row for row in table.values())]
    ratio_cols = [b for b in shown if b != "ferrotypes"] if "ferrotypes" in shown else []
    lines = [["operation"] + shown + [f"{b}/ferrotypes" for b in ratio_cols]]
    for name, row in table.items():
        cells = [f"{row[b]['per_op']:,.0f}" if opts.callgrind else f"{row[b]['per_op']:.2f} ({row[b]['min']:.2f}-{row[b]['max']:.2f})"
                 for b in shown]
        ratios = [f"{row[b]['per_op'] / row['ferrotypes']['per_op']:.2f}x" for b in ratio_cols]
        lines.append([name] + cells + ratios)
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    for line in lines:
        print("  " + "  ".join(v.ljust(widths[0]) if i == 0 else v.rjust(widths[i]) for i, v in enumerate(line)))
    for backend, error in errors.items():
        print(f"  ERROR {backend}: {error}")


if __name__ == "__main__":
    sys.exit(main())
