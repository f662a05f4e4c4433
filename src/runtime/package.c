/*
 * runtime/package.c - .hodupkg packages read, verified and loaded
 * (docs/packages.md).
 *
 * A package is a zip archive whose entries are all stored (uncompressed):
 * manifest.json, optionally manifest.sig (a 64-byte Ed25519 signature of
 * manifest.json) and one library per target under lib/.  The whole file is
 * read into memory once and every check runs on that copy: the zip's
 * records (each offset and size against the file, names, modes, overlaps,
 * CRC-32), the manifest against the entries (the same set, sizes and
 * SHA-256 hashes) and the signature.  A library is then loaded from the
 * same checked bytes, never from a path someone else could change in
 * between (hodurt_lib_stage: a sealed memfd on Linux, a temporary file
 * held open against writers on Windows).  SHA-256 and Ed25519 come from
 * OpenSSL's libcrypto, or from libsodium where the build defines
 * HODU_RT_SODIUM (the riscv64 and Windows cross runtimes,
 * tools/cross_runtime.sh).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#endif

/* Packages need cJSON, SHA-256 and Ed25519 (libsodium or libcrypto);
 * without them the calls fail saying so. */
#if !defined(HODU_RT_NO_JSON) && defined(HODU_RT_SODIUM)
#include <cjson/cJSON.h>
#include <sodium.h>
#define HODURT_PACKAGES 1
#elif !defined(HODU_RT_NO_JSON) && !defined(HODU_RT_NO_CRYPTO)
#include <cjson/cJSON.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#define HODURT_PACKAGES 1
#endif

#include "crc32.h"
#include "platform.h"
#include "rt_impl.h"

#define PKG_MAX_FILE     (UINT64_C(0xffffffff)) /* zip without zip64: 4 GiB */
#define PKG_MAX_ENTRIES  64u
#define PKG_MAX_NAME     128u
#define PKG_MAX_MANIFEST ((size_t)1 << 20)
#define PKG_MAX_FEATURES 32u
#define PKG_SIG_BYTES    64u

#define ZIP_LOCAL_SIG   0x04034b50u
#define ZIP_CENTRAL_SIG 0x02014b50u
#define ZIP_END_SIG     0x06054b50u
#define ZIP_LOCAL_LEN   30u
#define ZIP_CENTRAL_LEN 46u
#define ZIP_END_LEN     22u

typedef struct pkg_entry {
    char name[PKG_MAX_NAME + 1];
    uint64_t header; /* local header offset */
    uint64_t data;   /* offset of the stored bytes */
    uint64_t size;
    uint32_t crc;
} pkg_entry;

typedef struct pkg_library {
    const pkg_entry *entry;
    char *target, *arch;
    char **features;
    size_t n_features;
} pkg_library;

struct hodu_package {
    uint8_t *owned; /* the file's bytes when read from a path */
    const uint8_t *bytes;
    size_t size;
    char *what;
    pkg_entry *entries;
    size_t n_entries;
    char *manifest; /* NUL-terminated copy */
    size_t manifest_len;
    pkg_library *libs;
    size_t n_libs;
    hodu_package_signature signature;
};

HODU_RT_API void hodu_package_close(hodu_package *pkg)
{
    if (pkg == NULL)
        return;
    for (size_t i = 0; i < pkg->n_libs; i++) {
        free(pkg->libs[i].target);
        free(pkg->libs[i].arch);
        for (size_t k = 0; k < pkg->libs[i].n_features; k++)
            free(pkg->libs[i].features[k]);
        free(pkg->libs[i].features);
    }
    free(pkg->libs);
    free(pkg->manifest);
    free(pkg->entries);
    free(pkg->what);
    free(pkg->owned);
    free(pkg);
}

HODU_RT_API const char *hodu_package_manifest(const hodu_package *pkg, size_t *size)
{
    if (size != NULL)
        *size = pkg != NULL ? pkg->manifest_len : 0;
    return pkg != NULL ? pkg->manifest : NULL;
}

HODU_RT_API hodu_package_signature hodu_package_signature_state(const hodu_package *pkg)
{
    return pkg != NULL ? pkg->signature : HODU_PACKAGE_UNSIGNED;
}

HODU_RT_API size_t hodu_package_num_libraries(const hodu_package *pkg) { return pkg != NULL ? pkg->n_libs : 0; }

HODU_RT_API const char *hodu_package_library_name(const hodu_package *pkg, size_t index)
{
    return pkg != NULL && index < pkg->n_libs ? pkg->libs[index].entry->name : NULL;
}

HODU_RT_API const char *hodu_package_library_target(const hodu_package *pkg, size_t index)
{
    return pkg != NULL && index < pkg->n_libs ? pkg->libs[index].target : NULL;
}

/* --- the host ------------------------------------------------------------- */

static const char *host_arch(void)
{
#if defined(__x86_64__)
    return "x86_64";
#elif defined(__aarch64__)
    return "aarch64";
#elif defined(__riscv) && __riscv_xlen == 64
    return "riscv64";
#else
    return "unknown";
#endif
}

/* Whether this CPU has `feature` (as the writer names them: the compiler's
 * predefined macros, see src/package/build.c).  A name this runtime does
 * not know counts as missing. */
static bool host_has(const char *f)
{
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (strcmp(f, "sse4.2") == 0)
        return __builtin_cpu_supports("sse4.2");
    if (strcmp(f, "popcnt") == 0)
        return __builtin_cpu_supports("popcnt");
    if (strcmp(f, "avx") == 0)
        return __builtin_cpu_supports("avx");
    if (strcmp(f, "avx2") == 0)
        return __builtin_cpu_supports("avx2");
    if (strcmp(f, "fma") == 0)
        return __builtin_cpu_supports("fma");
    if (strcmp(f, "bmi2") == 0)
        return __builtin_cpu_supports("bmi2");
    if (strcmp(f, "avx512f") == 0)
        return __builtin_cpu_supports("avx512f");
    if (strcmp(f, "avx512bw") == 0)
        return __builtin_cpu_supports("avx512bw");
    if (strcmp(f, "avx512vl") == 0)
        return __builtin_cpu_supports("avx512vl");
    return false;
#elif defined(__aarch64__) && !defined(__linux__)
    /* No auxv outside Linux (macOS): Advanced SIMD is part of every
     * AArch64 ABI; the optional features count as missing. */
    return strcmp(f, "asimd") == 0;
#elif defined(__aarch64__)
    unsigned long hw = getauxval(AT_HWCAP);
    if (strcmp(f, "asimd") == 0)
        return (hw & (1ul << 1)) != 0; /* HWCAP_ASIMD */
    if (strcmp(f, "fp16") == 0)
        return (hw & (1ul << 10)) != 0; /* HWCAP_ASIMDHP */
    if (strcmp(f, "dotprod") == 0)
        return (hw & (1ul << 20)) != 0; /* HWCAP_ASIMDDP */
    if (strcmp(f, "sve") == 0)
        return (hw & (1ul << 22)) != 0; /* HWCAP_SVE */
    return false;
#else
    (void)f;
    return false;
#endif
}

/* Whether a target triple names this runtime's operating system (an
 * x86_64 Linux library and an x86_64 Windows DLL share their arch). */
static bool host_system(const char *target)
{
#if defined(_WIN32)
    return strstr(target, "-mingw32") != NULL || strstr(target, "-windows") != NULL;
#elif defined(__APPLE__)
    return strstr(target, "-apple-darwin") != NULL;
#elif defined(__linux__)
    return strstr(target, "-linux") != NULL;
#else
    (void)target;
    return false;
#endif
}

HODU_RT_API long hodu_package_host_library(const hodu_package *pkg)
{
    for (size_t i = 0; pkg != NULL && i < pkg->n_libs; i++) {
        const pkg_library *l = &pkg->libs[i];
        bool fits = strcmp(l->arch, host_arch()) == 0 && host_system(l->target);
        for (size_t k = 0; fits && k < l->n_features; k++)
            fits = host_has(l->features[k]);
        if (fits)
            return (long)i;
    }
    return -1;
}

#ifdef HODURT_PACKAGES

/* --- the zip records -------------------------------------------------------- */

static uint32_t rd16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t rd32(const uint8_t *p) { return rd16(p) | rd16(p + 2) << 16; }

/* A name is one or more '/'-separated components of [A-Za-z0-9._-], none
 * of them empty, "." or "..": no absolute path, no traversal, no
 * backslash or drive letter, nothing a terminal would act on. */
static const char *name_problem(const uint8_t *p, size_t n)
{
    if (n == 0)
        return "is empty";
    if (n > PKG_MAX_NAME)
        return "is longer than 128 bytes";
    if (p[0] == '/')
        return "is an absolute path";
    if (p[n - 1] == '/')
        return "names a directory";
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || p[i] == '/') {
            size_t len = i - start;
            if (len == 0)
                return "has an empty path component";
            if ((len == 1 && p[start] == '.') || (len == 2 && p[start] == '.' && p[start + 1] == '.'))
                return "has a '.' or '..' component (path traversal)";
            start = i + 1;
            continue;
        }
        uint8_t c = p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-'))
            return "has a byte outside [A-Za-z0-9._/-]";
    }
    return NULL;
}

static bool same_ignoring_case(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char x = *a >= 'A' && *a <= 'Z' ? (char)(*a + 32) : *a;
        char y = *b >= 'A' && *b <= 'Z' ? (char)(*b + 32) : *b;
        if (x != y)
            return false;
    }
    return *a == *b;
}

/* Quoted name for messages: only names that passed name_problem are
 * printed raw; others are shown by their length. */
#define BAD_NAME_FMT "entry %zu (a %zu-byte name)"

/* Reads the central directory into pkg->entries and checks each entry's
 * local header and bytes. */
static hodu_status read_zip(hodu_package *pkg, hodu_error *err)
{
    const uint8_t *b = pkg->bytes;
    const uint64_t size = pkg->size;
    const char *what = pkg->what;
    if (size < ZIP_END_LEN)
        return hodurt_fail(err, HODU_ERR_FORMAT, "package '%s': %llu bytes is too small for a zip archive", what,
                           (unsigned long long)size);
    if (size > PKG_MAX_FILE)
        return hodurt_fail(err, HODU_ERR_FORMAT, "package '%s': %llu bytes is more than a zip without zip64 holds",
                           what, (unsigned long long)size);
    const uint8_t *end = b + size - ZIP_END_LEN;
    if (rd32(end) != ZIP_END_SIG)
        return hodurt_fail(err, HODU_ERR_FORMAT,
                           "package '%s': no zip end record in its last 22 bytes (not a zip archive, or it has a "
                           "comment or trailing bytes, which packages may not)",
                           what);
    uint32_t disk = rd16(end + 4), cd_disk = rd16(end + 6), n_disk = rd16(end + 8), n = rd16(end + 10);
    uint64_t cd_size = rd32(end + 12), cd_off = rd32(end + 16);
    if (rd16(end + 20) != 0)
        return hodurt_fail(err, HODU_ERR_FORMAT, "package '%s': the zip end record has a comment", what);
    if (n == 0xffff || cd_size == 0xffffffffu || cd_off == 0xffffffffu)
        return hodurt_fail(err, HODU_ERR_FORMAT, "package '%s': zip64 archives are not packages", what);
    if (disk != 0 || cd_disk != 0 || n_disk != n)
        return hodurt_fail(err, HODU_ERR_FORMAT, "package '%s': a multi-disk zip archive", what);
    if (n == 0)
        return hodurt_fail(err, HODU_ERR_FORMAT, "package '%s': the archive has no entries", what);
    if (n > PKG_MAX_ENTRIES)
        return hodurt_fail(err, HODU_ERR_FORMAT, "package '%s': %u entries, more than the %u allowed", what, n,
                           PKG_MAX_ENTRIES);
    if (cd_off + cd_size != size - ZIP_END_LEN)
        return hodurt_fail(err, HODU_ERR_FORMAT,
                           "package '%s': the central directory (%llu bytes at %llu) does not end where the end "
                           "record starts (%llu)",
                           what, (unsigned long long)cd_size, (unsigned long long)cd_off,
                           (unsigned long long)(size - ZIP_END_LEN));
    pkg->entries = calloc(n, sizeof *pkg->entries);
    if (pkg->entries == NULL)
        return hodurt_fail(err, HODU_ERR_NOMEM, "package '%s': out of memory", what);

    uint64_t at = cd_off;
    for (size_t i = 0; i < n; i++) {
        if (at + ZIP_CENTRAL_LEN > size - ZIP_END_LEN || rd32(b + at) != ZIP_CENTRAL_SIG)
            return hodurt_fail(err, HODU_ERR_FORMAT,
                               "package '%s': central directory record %zu is missing or runs past the directory", what,
                               i);
        const uint8_t *c = b + at;
        uint32_t made_by = rd16(c + 4), flags = rd16(c + 8), method = rd16(c + 10), crc = rd32(c + 16);
        uint64_t csize = rd32(c + 20), usize = rd32(c + 24);
        uint32_t nlen = rd16(c + 28), elen = rd16(c + 30), klen = rd16(c + 32), start_disk = rd16(c + 34);
        uint32_t ext = rd32(c + 38);
        uint64_t loc = rd32(c + 42);
        if (at + ZIP_CENTRAL_LEN + nlen + elen + klen > size - ZIP_END_LEN)
            return hodurt_fail(err, HODU_ERR_FORMAT,
                               "package '%s': central directory record %zu runs past the directory", what, i);
        const uint8_t *name = c + ZIP_CENTRAL_LEN;
        at += ZIP_CENTRAL_LEN + nlen + elen + klen;
        const char *why = name_problem(name, nlen);
        if (why != NULL)
            return hodurt_fail(err, HODU_ERR_FORMAT, "package '%s': " BAD_NAME_FMT " %s", what, i, (size_t)nlen, why);
        pkg_entry *e = &pkg->entries[i];
        memcpy(e->name, name, nlen);
        e->name[nlen] = '\0';
        for (size_t k = 0; k < i; k++) {
            if (strcmp(pkg->entries[k].name, e->name) == 0)
                return hodurt_fail(err, HODU_ERR_FORMAT, "package '%s': duplicate entry '%s'", what, e->name);
            if (same_ignoring_case(pkg->entries[k].name, e->name))
                return hodurt_fail(err, HODU_ERR_FORMAT, "package '%s': entries '%s' and '%s' differ only in case",
                                   what, pkg->entries[k].name, e->name);
        }
        /* unix mode in the high half when made on unix; MS-DOS attributes
         * in the low byte (0x10: directory) */
        uint32_t type = (ext >> 16) & 0170000u;
        if ((made_by >> 8) == 3 && type == 0120000u)
            return hodurt_fail(err, HODU_ERR_FORMAT, "package '%s': entry '%s' is a symbolic link", what, e->name);
        if (((made_by >> 8) == 3 && type != 0 && type != 0100000u) || (ext & 0x10u))
            return hodurt_fail(err, HODU_ERR_FORMAT, "package '%s': entry '%s' is not a regular file (mode 0%o)", what,
                               e->name, (unsigned)(ext >> 16));
        if (flags & 0x41u)
            return hodurt_fail(err, HODU_ERR_FORMAT, "package '%s': entry '%s' is encrypted", what, e->name);
        if (flags & ~0x0800u) /* only the UTF-8 name flag is allowed */
            return hodurt_fail(err, HODU_ERR_FORMAT,
                               "package '%s': entry '%s' has zip flags 0x%x (a data descriptor or another feature "
                               "packages do not use)",
                               what, e->name, flags);
        if (method != 0)
            return hodurt_fail(err, HODU_ERR_FORMAT,
                               "package '%s': entry '%s' is compressed (method %u); package entries are stored", what,
                               e->name, method);
        if (csize != usize)
            return hodurt_fail(err, HODU_ERR_FORMAT,
                               "package '%s': entry '%s' is stored but its sizes differ (%llu and %llu)", what, e->name,
                               (unsigned long long)csize, (unsigned long long)usize);
        if (start_disk != 0)
            return hodurt_fail(err, HODU_ERR_FORMAT, "package '%s': entry '%s' starts on disk %u", what, e->name,
                               start_disk);
        /* the local header must repeat the central record and lie before
         * the central directory */
        if (loc + ZIP_LOCAL_LEN > cd_off || rd32(b + loc) != ZIP_LOCAL_SIG)
            return hodurt_fail(err, HODU_ERR_FORMAT,
                               "package '%s': entry '%s' has no local header at offset %llu (outside the entries' "
                               "part of the file)",
                               what, e->name, (unsigned long long)loc);
        const uint8_t *l = b + loc;
        uint32_t lnlen = rd16(l + 26), lelen = rd16(l + 28);
        if (rd16(l + 6) != flags || rd16(l + 8) != method || rd32(l + 14) != crc || rd32(l + 18) != csize ||
            rd32(l + 22) != usize || lnlen != nlen || loc + ZIP_LOCAL_LEN + lnlen > cd_off ||
            memcmp(l + ZIP_LOCAL_LEN, name, nlen) != 0)
            return hodurt_fail(err, HODU_ERR_FORMAT,
                               "package '%s': entry '%s': its local header disagrees with the central directory", what,
                               e->name);
        e->header = loc;
        e->data = loc + ZIP_LOCAL_LEN + lnlen + lelen;
        e->size = usize;
        e->crc = crc;
        if (e->data > cd_off || e->size > cd_off - e->data)
            return hodurt_fail(err, HODU_ERR_FORMAT,
                               "package '%s': entry '%s' (%llu bytes at %llu) runs past the entries' part of the file",
                               what, e->name, (unsigned long long)e->size, (unsigned long long)e->data);
    }
    if (at != size - ZIP_END_LEN)
        return hodurt_fail(err, HODU_ERR_FORMAT, "package '%s': the central directory has bytes after its %u records",
                           what, n);
    pkg->n_entries = n;
    /* no two entries (header through data) may share a byte, and together
     * they fill everything before the central directory: no hidden bytes */
    uint64_t covered = 0;
    for (size_t i = 0; i < n; i++) {
        const pkg_entry *x = &pkg->entries[i];
        uint64_t xe = x->data + x->size;
        covered += xe - x->header;
        for (size_t k = i + 1; k < n; k++) {
            const pkg_entry *y = &pkg->entries[k];
            if (x->header < y->data + y->size && y->header < xe)
                return hodurt_fail(err, HODU_ERR_FORMAT, "package '%s': entries '%s' and '%s' overlap", what, x->name,
                                   y->name);
        }
    }
    if (covered != cd_off)
        return hodurt_fail(err, HODU_ERR_FORMAT,
                           "package '%s': %llu bytes before the central directory belong to no entry", what,
                           (unsigned long long)(cd_off - covered));
    for (size_t i = 0; i < n; i++) {
        const pkg_entry *e = &pkg->entries[i];
        if (hodurt_crc32(b + e->data, e->size) != e->crc)
            return hodurt_fail(err, HODU_ERR_FORMAT, "package '%s': entry '%s' fails its CRC-32 check", what, e->name);
    }
    return HODU_OK;
}

static const pkg_entry *find_entry(const hodu_package *pkg, const char *name)
{
    for (size_t i = 0; i < pkg->n_entries; i++)
        if (strcmp(pkg->entries[i].name, name) == 0)
            return &pkg->entries[i];
    return NULL;
}

/* --- the manifest and the signature ----------------------------------------- */

/* SHA-256 of bytes[0..size) into digest; false when the library fails. */
static bool sha256(const uint8_t *bytes, uint64_t size, unsigned char digest[32])
{
#ifdef HODU_RT_SODIUM
    return crypto_hash_sha256(digest, bytes, (unsigned long long)size) == 0;
#else
    unsigned int dlen = 0;
    return EVP_Digest(bytes, (size_t)size, digest, &dlen, EVP_sha256(), NULL) == 1 && dlen == 32;
#endif
}

/* Whether sig is manifest's Ed25519 signature under the 32-byte key. */
static bool ed25519_verifies(const uint8_t *sig, const uint8_t *key, const char *manifest, size_t len)
{
#ifdef HODU_RT_SODIUM
    return crypto_sign_ed25519_verify_detached(sig, (const unsigned char *)manifest, len, key) == 0;
#else
    EVP_PKEY *pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, key, HODU_PACKAGE_PUBLIC_KEY_BYTES);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = pkey != NULL && ctx != NULL && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) == 1 &&
             EVP_DigestVerify(ctx, sig, PKG_SIG_BYTES, (const uint8_t *)manifest, len) == 1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    ERR_clear_error(); /* leave no failure in the thread's OpenSSL queue for the host to trip on */
    return ok;
#endif
}

static hodu_status verify_signature(hodu_package *pkg, const hodu_package_options *o, hodu_error *err)
{
    const pkg_entry *sig = find_entry(pkg, "manifest.sig");
    bool require = (o->flags & HODU_PACKAGE_REQUIRE_SIGNATURE) != 0;
    if (sig == NULL) {
        pkg->signature = HODU_PACKAGE_UNSIGNED;
        if (require)
            return hodurt_fail(err, HODU_ERR_FORMAT, "package '%s' is unsigned, but a signature is required",
                               pkg->what);
        return HODU_OK;
    }
    if (sig->size != PKG_SIG_BYTES)
        return hodurt_fail(err, HODU_ERR_FORMAT,
                           "package '%s': manifest.sig is %llu bytes, not a %u-byte Ed25519 signature", pkg->what,
                           (unsigned long long)sig->size, PKG_SIG_BYTES);
    pkg->signature = HODU_PACKAGE_SIGNED_UNVERIFIED;
    if (o->public_key == NULL)
        return HODU_OK;
    if (!ed25519_verifies(pkg->bytes + sig->data, o->public_key, pkg->manifest, pkg->manifest_len))
        return hodurt_fail(err, HODU_ERR_FORMAT,
                           "package '%s': the signature of manifest.json does not verify with the given public key",
                           pkg->what);
    pkg->signature = HODU_PACKAGE_SIGNED_VERIFIED;
    return HODU_OK;
}

static const char *json_string(const cJSON *obj, const char *key)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(j) ? j->valuestring : NULL;
}

static char *dup_string(const char *s)
{
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (d != NULL)
        memcpy(d, s, n + 1);
    return d;
}

/* A target or feature name: [a-z0-9._-], 1 to 64 bytes. */
static bool plain_word(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' || *s == '-'))
            return false;
    return true;
}

/* Every object in j has at most 32 members, no two of one name: a reader
 * that took the last of two "sha256" keys would see another manifest than
 * this one, which takes the first. */
static const char *json_problem(const cJSON *j)
{
    if (cJSON_IsObject(j)) {
        size_t n = 0;
        for (const cJSON *a = j->child; a != NULL; a = a->next) {
            if (++n > 32)
                return "an object with more than 32 members";
            for (const cJSON *b = a->next; b != NULL; b = b->next)
                if (a->string != NULL && b->string != NULL && strcmp(a->string, b->string) == 0)
                    return "an object with a repeated key";
        }
    }
    for (const cJSON *c = j->child; c != NULL; c = c->next) {
        const char *why = json_problem(c);
        if (why != NULL)
            return why;
    }
    return NULL;
}

/* One element of the manifest's "entries" into pkg->libs[pkg->n_libs]. */
static hodu_status read_manifest_entry(hodu_package *pkg, size_t index, const cJSON *e, hodu_error *err)
{
    const char *what = pkg->what;
    const char *name = json_string(e, "name"), *kind = json_string(e, "kind"), *target = json_string(e, "target");
    const char *arch = json_string(e, "arch"), *hash = json_string(e, "sha256");
    const cJSON *features = cJSON_GetObjectItemCaseSensitive(e, "features");
    uint64_t size = 0;
    if (!cJSON_IsObject(e) || name == NULL || kind == NULL || target == NULL || arch == NULL || hash == NULL ||
        !cJSON_IsArray(features) || !hodurt_json_u53(cJSON_GetObjectItemCaseSensitive(e, "size"), &size))
        return hodurt_fail(err, HODU_ERR_FORMAT,
                           "package '%s': manifest entry %zu lacks one of name, kind, target, arch, features, size, "
                           "sha256 (or has one of the wrong type)",
                           what, index);
    const pkg_entry *z = find_entry(pkg, name);
    if (z == NULL || strcmp(name, "manifest.json") == 0 || strcmp(name, "manifest.sig") == 0)
        return hodurt_fail(err, HODU_ERR_FORMAT,
                           "package '%s': the manifest lists entry %zu, which the archive does not hold", what, index);
    for (size_t k = 0; k < pkg->n_libs; k++)
        if (pkg->libs[k].entry == z)
            return hodurt_fail(err, HODU_ERR_FORMAT, "package '%s': the manifest lists '%s' twice", what, z->name);
    if (strcmp(kind, "library") != 0)
        return hodurt_fail(err, HODU_ERR_FORMAT, "package '%s': manifest entry '%s' is of kind other than library",
                           what, z->name);
    if (!plain_word(target) || !plain_word(arch))
        return hodurt_fail(err, HODU_ERR_FORMAT, "package '%s': manifest entry '%s' has a malformed target or arch",
                           what, z->name);
    if (size != z->size)
        return hodurt_fail(err, HODU_ERR_FORMAT,
                           "package '%s': the manifest says '%s' is %llu bytes, the archive holds %llu", what, z->name,
                           (unsigned long long)size, (unsigned long long)z->size);
    int n_features = cJSON_GetArraySize(features);
    if (n_features < 0 || (unsigned)n_features > PKG_MAX_FEATURES)
        return hodurt_fail(err, HODU_ERR_FORMAT, "package '%s': manifest entry '%s' lists more than %u features", what,
                           z->name, PKG_MAX_FEATURES);
    unsigned char digest[32];
    if (!sha256(pkg->bytes + z->data, z->size, digest))
        return hodurt_fail(err, HODU_ERR_NOMEM, "package '%s': SHA-256 of '%s' failed", what, z->name);
    char hex[65];
    for (int k = 0; k < 32; k++)
        snprintf(hex + 2 * k, 3, "%02x", digest[k]);
    if (strlen(hash) != 64 || strcmp(hash, hex) != 0)
        return hodurt_fail(err, HODU_ERR_FORMAT,
                           "package '%s': hash mismatch: '%s' has SHA-256 %s, the manifest says %.64s", what, z->name,
                           hex, strlen(hash) == 64 && plain_word(hash) ? hash : "something else");

    pkg_library *l = &pkg->libs[pkg->n_libs];
    l->entry = z;
    l->target = dup_string(target);
    l->arch = dup_string(arch);
    l->features = calloc((size_t)n_features + 1, sizeof *l->features);
    pkg->n_libs++;
    if (l->target == NULL || l->arch == NULL || l->features == NULL)
        return hodurt_fail(err, HODU_ERR_NOMEM, "package '%s': out of memory", what);
    const cJSON *f;
    cJSON_ArrayForEach(f, features)
    {
        if (!cJSON_IsString(f) || !plain_word(f->valuestring))
            return hodurt_fail(err, HODU_ERR_FORMAT, "package '%s': manifest entry '%s' has a malformed feature", what,
                               z->name);
        if ((l->features[l->n_features] = dup_string(f->valuestring)) == NULL)
            return hodurt_fail(err, HODU_ERR_NOMEM, "package '%s': out of memory", what);
        l->n_features++;
    }
    return HODU_OK;
}

static hodu_status read_manifest(hodu_package *pkg, const hodu_package_options *o, hodu_error *err)
{
    const char *what = pkg->what;
    const pkg_entry *m = find_entry(pkg, "manifest.json");
    if (m == NULL)
        return hodurt_fail(err, HODU_ERR_FORMAT, "package '%s' has no manifest.json", what);
    if (m->size > PKG_MAX_MANIFEST)
        return hodurt_fail(err, HODU_ERR_FORMAT, "package '%s': manifest.json is %llu bytes, more than the %zu allowed",
                           what, (unsigned long long)m->size, PKG_MAX_MANIFEST);
    pkg->manifest_len = (size_t)m->size;
    pkg->manifest = malloc(pkg->manifest_len + 1);
    if (pkg->manifest == NULL)
        return hodurt_fail(err, HODU_ERR_NOMEM, "package '%s': out of memory", what);
    memcpy(pkg->manifest, pkg->bytes + m->data, pkg->manifest_len);
    pkg->manifest[pkg->manifest_len] = '\0';
    /* the signature first: nothing of an unverified manifest is believed */
    hodu_status st = verify_signature(pkg, o, err);
    if (st != HODU_OK)
        return st;
    if (memchr(pkg->manifest, '\0', pkg->manifest_len) != NULL)
        return hodurt_fail(err, HODU_ERR_FORMAT, "package '%s': manifest.json holds a NUL byte", what);
    cJSON *root = cJSON_ParseWithLength(pkg->manifest, pkg->manifest_len);
    if (root == NULL)
        return hodurt_fail(err, HODU_ERR_FORMAT, "package '%s': manifest.json is not valid JSON", what);
    const cJSON *entries = cJSON_GetObjectItemCaseSensitive(root, "entries");
    const char *format = json_string(root, "format");
    const char *json_why = json_problem(root);
    uint64_t version = 0;
    if (json_why != NULL)
        st = hodurt_fail(err, HODU_ERR_FORMAT, "package '%s': manifest.json has %s", what, json_why);
    else if (!cJSON_IsObject(root) || format == NULL || strcmp(format, "hodu-package") != 0)
        st = hodurt_fail(err, HODU_ERR_FORMAT, "package '%s': manifest.json is not a hodu-package manifest", what);
    else if (!hodurt_json_u53(cJSON_GetObjectItemCaseSensitive(root, "format_version"), &version) || version != 1)
        st = hodurt_fail(err, HODU_ERR_UNSUPPORTED,
                         "package '%s': manifest format_version is not 1, the only one this runtime reads", what);
    else if (json_string(root, "name") == NULL || json_string(root, "version") == NULL ||
             json_string(root, "producer") == NULL ||
             !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(root, "inputs")) ||
             !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(root, "outputs")))
        st = hodurt_fail(err, HODU_ERR_FORMAT,
                         "package '%s': manifest lacks one of name, version, producer, inputs, outputs", what);
    else if (!cJSON_IsArray(entries) || cJSON_GetArraySize(entries) < 1 ||
             (size_t)cJSON_GetArraySize(entries) > PKG_MAX_ENTRIES)
        st = hodurt_fail(err, HODU_ERR_FORMAT, "package '%s': manifest 'entries' is not a list of 1 to %u entries",
                         what, PKG_MAX_ENTRIES);
    if (st == HODU_OK) {
        pkg->libs = calloc((size_t)cJSON_GetArraySize(entries), sizeof *pkg->libs);
        if (pkg->libs == NULL)
            st = hodurt_fail(err, HODU_ERR_NOMEM, "package '%s': out of memory", what);
    }
    size_t index = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, entries)
    {
        if (st != HODU_OK)
            break;
        st = read_manifest_entry(pkg, index++, e, err);
    }
    cJSON_Delete(root);
    if (st != HODU_OK)
        return st;
    /* and every entry of the archive is the manifest's, or one of its own */
    for (size_t i = 0; i < pkg->n_entries; i++) {
        const pkg_entry *z = &pkg->entries[i];
        bool listed = strcmp(z->name, "manifest.json") == 0 || strcmp(z->name, "manifest.sig") == 0;
        for (size_t k = 0; !listed && k < pkg->n_libs; k++)
            listed = pkg->libs[k].entry == z;
        if (!listed)
            return hodurt_fail(err, HODU_ERR_FORMAT, "package '%s': entry '%s' is not in the manifest", what, z->name);
    }
    return HODU_OK;
}

HODU_RT_API hodu_status hodu_package_parse(const void *bytes, size_t size, const char *what,
                                           const hodu_package_options *options, hodu_package **out, hodu_error *err)
{
    if (out == NULL || (bytes == NULL && size > 0))
        return hodurt_fail(err, HODU_ERR_INVALID_ARG, "hodu_package_parse: %s is NULL", out == NULL ? "out" : "bytes");
    *out = NULL;
    hodu_package_options none = {0, NULL};
    const hodu_package_options *o = options != NULL ? options : &none;
    if ((o->flags & HODU_PACKAGE_REQUIRE_SIGNATURE) && o->public_key == NULL)
        return hodurt_fail(err, HODU_ERR_INVALID_ARG,
                           "hodu_package_parse: a signature is required but no public key was given");
    if (o->flags & ~HODU_PACKAGE_REQUIRE_SIGNATURE)
        return hodurt_fail(err, HODU_ERR_INVALID_ARG, "hodu_package_parse: unknown flags 0x%x", (unsigned)o->flags);
#ifdef HODU_RT_SODIUM
    /* libsodium's one-time set-up (thread-safe; later calls return at once) */
    if (sodium_init() < 0)
        return hodurt_fail(err, HODU_ERR_UNSUPPORTED, "hodu_package_parse: libsodium failed to initialise");
#endif
    hodu_package *pkg = calloc(1, sizeof *pkg);
    if (pkg == NULL || (pkg->what = dup_string(what != NULL ? what : "<bytes>")) == NULL) {
        free(pkg);
        return hodurt_fail(err, HODU_ERR_NOMEM, "hodu_package_parse: out of memory");
    }
    pkg->bytes = bytes;
    pkg->size = size;
    hodu_status st = read_zip(pkg, err);
    if (st == HODU_OK)
        st = read_manifest(pkg, o, err);
    if (st != HODU_OK) {
        hodu_package_close(pkg);
        return st;
    }
    *out = pkg;
    return hodurt_ok(err);
}

HODU_RT_API hodu_status hodu_package_open(const char *path, const hodu_package_options *options, hodu_package **out,
                                          hodu_error *err)
{
    if (out == NULL || path == NULL)
        return hodurt_fail(err, HODU_ERR_INVALID_ARG, "hodu_package_open: %s is NULL", out == NULL ? "out" : "path");
    *out = NULL;
    uint8_t *bytes;
    size_t size;
    hodu_status st = hodurt_read_file(path, (size_t)PKG_MAX_FILE, &bytes, &size, err);
    if (st != HODU_OK)
        return st;
    st = hodu_package_parse(bytes, size, path, options, out, err);
    if (st != HODU_OK) {
        free(bytes);
        return st;
    }
    (*out)->owned = bytes;
    return HODU_OK;
}

HODU_RT_API hodu_status hodu_package_load(const hodu_package *pkg, hodu_model **out, hodu_error *err)
{
    if (pkg == NULL || out == NULL)
        return hodurt_fail(err, HODU_ERR_INVALID_ARG, "hodu_package_load: %s is NULL", pkg == NULL ? "pkg" : "out");
    *out = NULL;
    long pick = hodu_package_host_library(pkg);
    if (pick < 0)
        return hodurt_fail(err, HODU_ERR_UNSUPPORTED,
                           "package '%s' has no library for this machine (%s, this system, with the CPU features "
                           "it lists)",
                           pkg->what, host_arch());
    const pkg_entry *e = pkg->libs[pick].entry;
    /* the checked bytes where nobody else can change them, then loaded */
    char load_path[512], why[512], name[PKG_MAX_NAME + 512];
    void *stage = hodurt_lib_stage(pkg->bytes + e->data, (size_t)e->size, load_path, sizeof load_path, why, sizeof why);
    if (stage == NULL)
        return hodurt_fail(err, HODU_ERR_IO, "package '%s': cannot stage '%s' for loading: %s", pkg->what, e->name,
                           why);
    snprintf(name, sizeof name, "%s:%s", pkg->what, e->name);
    hodu_status st = hodurt_model_load(name, load_path, out, err);
    hodurt_lib_unstage(stage);
    return st;
}

#else /* a runtime built without cJSON or crypto (a bare build) */

HODU_RT_API hodu_status hodu_package_parse(const void *bytes, size_t size, const char *what,
                                           const hodu_package_options *options, hodu_package **out, hodu_error *err)
{
    (void)bytes, (void)size, (void)what, (void)options;
    if (out != NULL)
        *out = NULL;
    return hodurt_fail(err, HODU_ERR_UNSUPPORTED, "this libhodu_rt was built without package support");
}

HODU_RT_API hodu_status hodu_package_open(const char *path, const hodu_package_options *options, hodu_package **out,
                                          hodu_error *err)
{
    return hodu_package_parse(NULL, 0, path, options, out, err);
}

HODU_RT_API hodu_status hodu_package_load(const hodu_package *pkg, hodu_model **out, hodu_error *err)
{
    (void)pkg;
    if (out != NULL)
        *out = NULL;
    return hodurt_fail(err, HODU_ERR_UNSUPPORTED, "this libhodu_rt was built without package support");
}
#endif
