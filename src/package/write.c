/*
 * package/write.c - the .hodupkg file: manifest, signature and a stored zip
 * with page-aligned library entries (docs/packages.md).
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "package/package.h"
#include "runtime/crc32.h"

#define ZIP_MAX         UINT64_C(0xffffffff)
#define ZIP_ALIGN_EXTRA 0x4855u /* "HU": the padding that aligns an entry's data */

typedef struct zip_item {
    const char *name;
    const uint8_t *data;
    size_t size;
    bool align;
    uint64_t offset; /* of its local header */
    uint32_t crc;
} zip_item;

static void put16(hd_buf *b, uint32_t v)
{
    uint8_t x[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    hd_buf_write(b, x, 2);
}

static void put32(hd_buf *b, uint32_t v)
{
    put16(b, v & 0xffffu);
    put16(b, v >> 16);
}

/* The fields a local header and a central record share, from "version
 * needed" on: stored, no flags, a fixed date (1980-01-01) so the same
 * build gives the same bytes. */
static void put_common(hd_buf *b, const zip_item *it)
{
    put16(b, 20);   /* version needed: 2.0 */
    put16(b, 0);    /* flags */
    put16(b, 0);    /* method: stored */
    put16(b, 0);    /* time */
    put16(b, 0x21); /* date: 1980-01-01 */
    put32(b, it->crc);
    put32(b, (uint32_t)it->size);
    put32(b, (uint32_t)it->size);
    put16(b, (uint32_t)strlen(it->name));
}

static void put_local(hd_buf *b, zip_item *it)
{
    it->offset = b->len;
    it->crc = hodurt_crc32(it->data, it->size);
    size_t nlen = strlen(it->name), pad = 0;
    if (it->align) {
        size_t start = b->len + 30 + nlen;
        pad = (HD_PACKAGE_ALIGN - start % HD_PACKAGE_ALIGN) % HD_PACKAGE_ALIGN;
        if (pad > 0 && pad < 4) /* an extra field is at least its 4-byte header */
            pad += HD_PACKAGE_ALIGN;
    }
    put32(b, 0x04034b50u);
    put_common(b, it);
    put16(b, (uint32_t)pad);
    hd_buf_write(b, it->name, nlen);
    if (pad > 0) {
        put16(b, ZIP_ALIGN_EXTRA);
        put16(b, (uint32_t)(pad - 4));
        for (size_t i = 4; i < pad; i++)
            hd_buf_putc(b, 0);
    }
    hd_buf_write(b, it->data, it->size);
}

static void put_central(hd_buf *b, const zip_item *it)
{
    put32(b, 0x02014b50u);
    put16(b, 3u << 8 | 20); /* made by: unix, 2.0 (so the mode below counts) */
    put_common(b, it);
    put16(b, 0);                        /* extra */
    put16(b, 0);                        /* comment */
    put16(b, 0);                        /* disk */
    put16(b, 0);                        /* internal attributes */
    put32(b, (uint32_t)0100644u << 16); /* a regular file, rw-r--r-- */
    put32(b, (uint32_t)it->offset);
    hd_buf_write(b, it->name, strlen(it->name));
}

static bool sha256_hex(const uint8_t *data, size_t n, char hex[65])
{
    unsigned char md[32];
    unsigned int len = 0;
    if (EVP_Digest(data, n, md, &len, EVP_sha256(), NULL) != 1 || len != 32)
        return false;
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return true;
}

static cJSON *tensor_json(const hodu_tensor_desc *t)
{
    cJSON *o = cJSON_CreateObject(), *shape = cJSON_AddArrayToObject(o, "shape");
    cJSON_AddStringToObject(o, "name", t->name);
    cJSON_AddStringToObject(o, "dtype", hodu_dtype_name((hodu_dtype)t->dtype));
    for (int32_t i = 0; i < t->rank; i++) {
        int64_t lo = t->min_dims ? t->min_dims[i] : t->dims[i];
        const char *sym = t->dim_names ? t->dim_names[i] : NULL;
        if (sym == NULL && lo == t->dims[i]) {
            cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t->dims[i]));
            continue;
        }
        /* a dim chosen at run time: its name and range (no upper bound
         * for an output whose size the data decides) */
        cJSON *d = cJSON_CreateObject();
        if (sym != NULL)
            cJSON_AddStringToObject(d, "dim", sym);
        cJSON_AddNumberToObject(d, "min", (double)lo);
        if (t->dims[i] == -1)
            cJSON_AddNullToObject(d, "max");
        else
            cJSON_AddNumberToObject(d, "max", (double)t->dims[i]);
        cJSON_AddItemToArray(shape, d);
    }
    return o;
}

static bool sign(const char *key_path, const char *msg, size_t n, uint8_t sig[64], hd_diag *d)
{
    FILE *f = fopen(key_path, "rb");
    if (f == NULL) {
        hd_error(d, "cannot open the signing key '%s'", key_path);
        return false;
    }
    EVP_PKEY *key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (key == NULL || EVP_PKEY_get_base_id(key) != EVP_PKEY_ED25519) {
        hd_error(d, "'%s' is not a PEM Ed25519 private key (make one with: openssl genpkey -algorithm ed25519)",
                 key_path);
        EVP_PKEY_free(key);
        return false;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t len = 64;
    bool ok = ctx != NULL && EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) == 1 &&
              EVP_DigestSign(ctx, sig, &len, (const uint8_t *)msg, n) == 1 && len == 64;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    if (!ok)
        hd_error(d, "signing with '%s' failed", key_path);
    return ok;
}

/* The PEM text that write() puts into a memory BIO. */
static char *pem_text(EVP_PKEY *k, bool private_half)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *text = NULL;
    if (b != NULL &&
        (private_half ? PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) : PEM_write_bio_PUBKEY(b, k)) == 1) {
        char *p;
        long n = BIO_get_mem_data(b, &p);
        if (n > 0)
            text = hd_xstrndup(p, (size_t)n);
    }
    BIO_free(b);
    return text;
}

bool hd_package_keygen(const char *private_path, const char *public_path, hd_diag *d)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    char *priv = k ? pem_text(k, true) : NULL, *pub = k ? pem_text(k, false) : NULL;
    EVP_PKEY_free(k);
    bool ok = priv != NULL && pub != NULL;
    if (!ok)
        hd_error(d, "making an Ed25519 key failed");
    /* the private key: a new file only its owner reads, never one that
     * exists (or a link someone left there) */
    int fd = ok ? open(private_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600) : -1;
    if (ok && fd < 0) {
        hd_error(d, "cannot create '%s': %s%s", private_path, strerror(errno),
                 errno == EEXIST ? " (a key is never overwritten)" : "");
        ok = false;
    }
    if (fd >= 0) {
        size_t n = strlen(priv);
        ok = write(fd, priv, n) == (ssize_t)n;
        ok = close(fd) == 0 && ok;
        if (!ok) {
            hd_error(d, "cannot write '%s'", private_path);
            unlink(private_path);
        }
    }
    ok = ok && hd_write_file_atomic(public_path, pub, strlen(pub), d);
    if (priv != NULL)
        OPENSSL_cleanse(priv, strlen(priv));
    free(priv);
    free(pub);
    return ok;
}

bool hd_package_read_public_key(const char *path, uint8_t key[HODU_PACKAGE_PUBLIC_KEY_BYTES], hd_diag *d)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        hd_error(d, "cannot open the public key '%s'", path);
        return false;
    }
    EVP_PKEY *k = PEM_read_PUBKEY(f, NULL, NULL, NULL);
    fclose(f);
    size_t len = HODU_PACKAGE_PUBLIC_KEY_BYTES;
    bool ok = k != NULL && EVP_PKEY_get_base_id(k) == EVP_PKEY_ED25519 &&
              EVP_PKEY_get_raw_public_key(k, key, &len) == 1 && len == HODU_PACKAGE_PUBLIC_KEY_BYTES;
    EVP_PKEY_free(k);
    if (!ok)
        hd_error(d, "'%s' is not a PEM Ed25519 public key (make one with: openssl pkey -in KEY.pem -pubout)", path);
    return ok;
}

bool hd_package_write(const char *out, const hd_package_info *info, const hd_package_library *libs, size_t n,
                      const char *sign_key, hd_diag *d)
{
    uint8_t **bytes = hd_xcalloc(n ? n : 1, sizeof *bytes);
    size_t *sizes = hd_xcalloc(n ? n : 1, sizeof *sizes);
    char **names = hd_xcalloc(n ? n : 1, sizeof *names);
    zip_item *items = hd_xcalloc(n + 2, sizeof *items);
    size_t n_items = 0;
    char *manifest = NULL;
    bool ok = true;

    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "format", "hodu-package");
    cJSON_AddNumberToObject(root, "format_version", 1);
    cJSON_AddStringToObject(root, "name", info->name);
    cJSON_AddStringToObject(root, "version", info->version);
    cJSON_AddStringToObject(root, "license", info->license);
    cJSON_AddStringToObject(root, "producer", info->producer);
    cJSON_AddNumberToObject(root, "abi_version", HODU_ABI_VERSION);
    cJSON *ins = cJSON_AddArrayToObject(root, "inputs"), *outs = cJSON_AddArrayToObject(root, "outputs");
    for (uint32_t i = 0; i < info->desc->n_inputs; i++)
        cJSON_AddItemToArray(ins, tensor_json(&info->desc->inputs[i]));
    for (uint32_t i = 0; i < info->desc->n_outputs; i++)
        cJSON_AddItemToArray(outs, tensor_json(&info->desc->outputs[i]));
    cJSON *entries = cJSON_AddArrayToObject(root, "entries");
    for (size_t i = 0; ok && i < n; i++) {
        bytes[i] = hd_read_file(libs[i].path, &sizes[i], (size_t)ZIP_MAX, d);
        char hex[65];
        if (bytes[i] == NULL || !sha256_hex(bytes[i], sizes[i], hex)) {
            ok = false;
            break;
        }
        cJSON *e = cJSON_CreateObject();
        names[i] = hd_xasprintf("lib/%s.so", libs[i].target);
        cJSON_AddStringToObject(e, "name", names[i]);
        cJSON_AddStringToObject(e, "kind", "library");
        cJSON_AddStringToObject(e, "target", libs[i].target);
        cJSON_AddStringToObject(e, "arch", libs[i].arch);
        cJSON *f = cJSON_AddArrayToObject(e, "features");
        for (size_t k = 0; k < libs[i].n_features; k++)
            cJSON_AddItemToArray(f, cJSON_CreateString(libs[i].features[k]));
        cJSON_AddNumberToObject(e, "size", (double)sizes[i]);
        cJSON_AddStringToObject(e, "sha256", hex);
        cJSON_AddItemToArray(entries, e);
    }
    if (ok) {
        /* cJSON indents with tabs (a string's own tab is written \t):
         * two spaces read better in a terminal */
        char *tabbed = cJSON_Print(root);
        hd_buf m;
        hd_buf_init(&m);
        for (const char *c = tabbed; *c; c++)
            hd_buf_puts(&m, *c == '\t' ? "  " : (char[]){*c, 0});
        free(tabbed);
        manifest = hd_buf_take(&m);
        items[n_items++] =
            (zip_item){.name = "manifest.json", .data = (const uint8_t *)manifest, .size = strlen(manifest)};
    }
    uint8_t sig[64];
    if (ok && sign_key != NULL) {
        ok = sign(sign_key, manifest, strlen(manifest), sig, d);
        items[n_items++] = (zip_item){.name = "manifest.sig", .data = sig, .size = sizeof sig};
    }
    if (ok) {
        for (size_t i = 0; i < n; i++)
            items[n_items++] = (zip_item){.name = names[i], .data = bytes[i], .size = sizes[i], .align = true};
        hd_buf z;
        hd_buf_init(&z);
        for (size_t i = 0; i < n_items; i++)
            put_local(&z, &items[i]);
        size_t cd = z.len;
        for (size_t i = 0; i < n_items; i++)
            put_central(&z, &items[i]);
        size_t cd_size = z.len - cd;
        put32(&z, 0x06054b50u);
        put16(&z, 0);
        put16(&z, 0);
        put16(&z, (uint32_t)n_items);
        put16(&z, (uint32_t)n_items);
        put32(&z, (uint32_t)cd_size);
        put32(&z, (uint32_t)cd);
        put16(&z, 0);
        if (z.len > ZIP_MAX) {
            hd_error(d, "the package would be %zu bytes, more than a zip without zip64 holds", z.len);
            ok = false;
        } else {
            ok = hd_write_file_atomic(out, z.data, z.len, d);
        }
        hd_buf_free(&z);
    }
    for (size_t i = 0; i < n; i++) {
        free(bytes[i]);
        free(names[i]);
    }
    free(names);
    free(bytes);
    free(sizes);
    free(items);
    free(manifest);
    cJSON_Delete(root);
    return ok;
}
