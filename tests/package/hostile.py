"""Hostile .hodupkg packages and the exact error libhodu_rt must give for each.

    hostile.py HODU WORK_DIR PRIVATE_KEY.pem PUBLIC_KEY.pem   run the cases (ctest package)
    import hostile; hostile.cases(sign=None)                  the files (tests/fuzz/make_corpus.py)

Every package is assembled here byte by byte (struct), so each case breaks
exactly one rule; a well-formed package made the same way must open, which
shows that each refusal is the intended one.  The libraries are stand-in
bytes: opening checks structure, manifest, hashes and signature, and loads
nothing.
"""
import hashlib
import json
import os
import struct
import subprocess
import sys
import zlib

LIB = "lib/x86_64-linux-gnu.so"
LIB_BYTES = b"\x7fELF" + bytes(range(256)) * 4


def entry(name, data, **kw):
    e = {"name": name.encode() if isinstance(name, str) else name, "data": data, "method": 0, "flags": 0,
         "made_by": 0x0314, "ext": 0o100644 << 16, "crc": zlib.crc32(data), "size": len(data)}
    e.update(kw)
    return e


def assemble(entries, count=None, tail=b"", cd_offsets=None, local_override=None, gap=b""):
    """The zip: local headers and data in order, the central directory, the
    end record.  cd_offsets replaces the local header offsets the central
    directory names; local_override(i, header) may rewrite a local header;
    gap goes between the first two entries."""
    out, offsets = b"", []
    for i, e in enumerate(entries):
        if i == 1:
            out += gap
        offsets.append(len(out))
        head = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, e["flags"], e["method"], 0, 0x21, e["crc"], e["size"],
                           e["size"], len(e["name"]), 0) + e["name"]
        if local_override:
            head = local_override(i, head)
        out += head + e["data"]
    cd = b""
    for i, e in enumerate(entries):
        off = cd_offsets[i] if cd_offsets else offsets[i]
        cd += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, e["made_by"], 20, e["flags"], e["method"], 0, 0x21,
                          e["crc"], e["size"], e["size"], len(e["name"]), 0, 0, 0, 0, e["ext"], off) + e["name"]
    n = len(entries) if count is None else count
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n, n, len(cd), len(out), 0)
    return out + cd + end + tail


def manifest(libs, **changes):
    m = {"format": "hodu-package", "format_version": 1, "name": "m", "version": "1", "license": "MIT",
         "producer": "hostile.py", "abi_version": 8,
         "inputs": [{"name": "x", "dtype": "float32", "shape": [{"dim": "N", "min": 1, "max": 8}, 4]}],
         "outputs": [{"name": "y", "dtype": "float32", "shape": [{"dim": "N", "min": 1, "max": 8}, 4]}],
         "entries": [{"name": name, "kind": "library", "target": "x86_64-linux-gnu", "arch": "x86_64",
                      "features": [], "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
                     for name, data in libs]}
    m.update(changes)
    return json.dumps(m, indent=1).encode()


def package(libs=((LIB, LIB_BYTES),), man=None, sign=None, extra=(), **kw):
    man = manifest(libs) if man is None else man
    es = [entry("manifest.json", man)]
    if sign:
        es.append(entry("manifest.sig", sign(man)))
    es += [entry(n, d) for n, d in libs] + list(extra)
    return assemble(es, **kw)


def cases(sign=None):
    """(name, bytes, exact error after "package 'FILE'", needs the key)."""
    good = [(LIB, LIB_BYTES)]
    m = manifest(good)
    c = []

    def add(name, data, error, key=False):
        c.append((name, data, error, key))

    add("traversal", package(extra=[entry("lib/../x.so", b"x")]),
        ": entry 2 (a 11-byte name) has a '.' or '..' component (path traversal)")
    add("absolute", package(extra=[entry("/etc/passwd", b"x")]), ": entry 2 (a 11-byte name) is an absolute path")
    add("backslash", package(extra=[entry("..\\x.so", b"x")]),
        ": entry 2 (a 7-byte name) has a byte outside [A-Za-z0-9._/-]")
    add("duplicate", package(extra=[entry(LIB, LIB_BYTES)]), ": duplicate entry '%s'" % LIB)
    add("case_collision", package(extra=[entry(LIB.upper(), b"x")]),
        ": entries '%s' and '%s' differ only in case" % (LIB, LIB.upper()))
    add("symlink", package(extra=[entry("lib/link.so", b"/etc/passwd", ext=0o120777 << 16)]),
        ": entry 'lib/link.so' is a symbolic link")
    add("device", package(extra=[entry("lib/dev", b"", ext=0o020644 << 16)]),
        ": entry 'lib/dev' is not a regular file (mode 020644)")
    add("directory", package(extra=[entry("lib/", b"", ext=(0o040755 << 16) | 0x10)]),
        ": entry 2 (a 4-byte name) names a directory")
    # the second library's header and data lie inside the first's data
    inner = entry("lib/b.so", b"inner")
    inner_head = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 0x21, inner["crc"], 5, 5, 8, 0) + b"lib/b.so"
    outer = entry("lib/a.so", inner_head + b"inner")
    first = 30 + len("manifest.json") + len(m)
    add("overlap", assemble([entry("manifest.json", m), outer, inner],
                            cd_offsets=[0, first, first + 30 + len("lib/a.so")]),
        ": entries 'lib/a.so' and 'lib/b.so' overlap")
    add("outside", assemble([entry("manifest.json", m), entry(LIB, LIB_BYTES)], cd_offsets=[0, 1 << 30]),
        ": entry '%s' has no local header at offset %d (outside the entries' part of the file)" % (LIB, 1 << 30))
    add("size_overflow", package(libs=[(LIB, LIB_BYTES)], extra=[entry("lib/big", b"x", size=0xFFFFFFFF)]),
        None)  # filled below: its offset depends on the layout
    # bytes between two entries that no entry claims (a place to hide data)
    add("gap", package(gap=b"hidden"), ": 6 bytes before the central directory belong to no entry")
    add("count_zip64", package(count=0xFFFF), ": zip64 archives are not packages")
    add("count_mismatch", package(count=3), ": central directory record 2 is missing or runs past the directory")
    add("too_many", package(extra=[entry("e%02d" % i, b"") for i in range(63)]),
        ": 65 entries, more than the 64 allowed")
    add("trailing_bytes", package(tail=b"junk"),
        ": no zip end record in its last 22 bytes (not a zip archive, or it has a comment or trailing bytes, which "
        "packages may not)")
    add("compressed", package(extra=[entry("lib/z", b"x", method=8)]),
        ": entry 'lib/z' is compressed (method 8); package entries are stored")
    add("encrypted", package(extra=[entry("lib/z", b"x", flags=1)]), ": entry 'lib/z' is encrypted")
    add("crc", package(extra=[entry("lib/z", b"x", crc=0)]), ": entry 'lib/z' fails its CRC-32 check")
    add("local_disagrees", package(local_override=lambda i, h: h[:26] + b"\x01" + h[27:] if i == 1 else h),
        ": entry '%s': its local header disagrees with the central directory" % LIB)
    add("no_manifest", assemble([entry(LIB, LIB_BYTES)]), " has no manifest.json")
    add("manifest_json", package(man=b"{not json"), ": manifest.json is not valid JSON")
    dup = manifest(good).replace(b'"name": "m",', b'"name": "m", "name": "other",')
    add("manifest_repeated_key", package(man=dup), ": manifest.json has an object with a repeated key")
    add("manifest_size", package(man=manifest(good).replace(b'"size": %d' % len(LIB_BYTES), b'"size": 5')),
        ": the manifest says '%s' is 5 bytes, the archive holds %d" % (LIB, len(LIB_BYTES)))
    add("manifest_missing_entry", package(man=manifest(good + [("lib/aarch64-linux-gnu.so", b"y")])),
        ": the manifest lists entry 1, which the archive does not hold")
    add("manifest_unlisted_entry", package(extra=[entry("lib/extra.so", b"x")]),
        ": entry 'lib/extra.so' is not in the manifest")
    add("manifest_twice", package(man=manifest(good + good)), ": the manifest lists '%s' twice" % LIB)
    bad_hash = hashlib.sha256(b"other").hexdigest()
    add("hash_mismatch", package(man=m.replace(hashlib.sha256(LIB_BYTES).hexdigest().encode(), bad_hash.encode())),
        ": hash mismatch: '%s' has SHA-256 %s, the manifest says %s" % (LIB, hashlib.sha256(LIB_BYTES).hexdigest(),
                                                                        bad_hash))
    add("unsigned_required", package(), " is unsigned, but a signature is required", key=True)
    if sign:
        add("signature_other_manifest", package(extra=[entry("manifest.sig", sign(m + b" "))]),
            ": the signature of manifest.json does not verify with the given public key", key=True)
    add("signature_short", package(extra=[entry("manifest.sig", b"x" * 63)]),
        ": manifest.sig is 63 bytes, not a 64-byte Ed25519 signature")
    add("signature_garbage", package(extra=[entry("manifest.sig", b"x" * 64)]),
        ": the signature of manifest.json does not verify with the given public key", key=True)
    # fill in the size overflow's offset: the big entry's data start
    data = c[[x[0] for x in c].index("size_overflow")][1]
    start = data.index(b"lib/big") + len(b"lib/big")
    c[[x[0] for x in c].index("size_overflow")] = (
        "size_overflow", data,
        ": entry 'lib/big' (%d bytes at %d) runs past the entries' part of the file" % (0xFFFFFFFF, start), False)
    return c


def openssl_signer(key, work):
    """Ed25519 through the openssl tool (a file, not stdin: a one-shot
    signature needs the message's size)."""
    def sign(msg):
        path = os.path.join(work, "to_sign")
        with open(path, "wb") as f:
            f.write(msg)
        return subprocess.run(["openssl", "pkeyutl", "-sign", "-rawin", "-inkey", key, "-in", path],
                              capture_output=True, check=True).stdout
    return sign


def main():
    hodu, work, key, pub = sys.argv[1:5]
    sign = openssl_signer(key, work)
    fails = 0

    def inspect(path, with_key):
        cmd = [hodu, "--inspect", path] + (["--verify-key", pub] if with_key else [])
        return subprocess.run(cmd, capture_output=True, text=True)

    # the well-formed ones open, with and without the key
    for name, data, with_key in [("good", package(), False), ("good_signed", package(sign=sign), True)]:
        path = os.path.join(work, name + ".hodupkg")
        open(path, "wb").write(data)
        r = inspect(path, with_key)
        if r.returncode != 0 or "for this machine: " + LIB not in r.stdout:
            print("FAIL %s: does not open: %s" % (name, r.stderr.strip()))
            fails += 1
        else:
            print("ok   %s opens" % name)
    all_cases = cases(sign)
    for name, data, error, with_key in all_cases:
        path = os.path.join(work, name + ".hodupkg")
        open(path, "wb").write(data)
        r = inspect(path, with_key)
        want = "hodu: error: package '%s'%s" % (path, error)
        if r.returncode == 1 and r.stderr.strip() == want:
            print("ok   %s: %s" % (name, error.lstrip(": ")))
        else:
            print("FAIL %s: rc %d\n  got:  %s\n  want: %s" % (name, r.returncode, r.stderr.strip(), want))
            fails += 1
    print("%d hostile packages, %d failures" % (len(all_cases), fails))
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
