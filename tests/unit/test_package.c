/*
 * test_package.c - .hodupkg packages through the C API: written by the
 * compiler's writer (src/package/write.c), read back by libhodu_rt
 * (hodu_package_open / _parse / _load): signatures required, verified,
 * missing or made with another key, a tampered byte, the host's entry
 * chosen by architecture and CPU features, and the argument checks.
 *
 * The libraries are stand-in bytes (opening loads nothing); tests/package
 * runs real ones.  Keys are made here with OpenSSL.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hodu_rt.h"
#include "package/package.h"
#include "runtime/crc32.h"

static char tmp_dir[256], key_path[300], fake_lib[300];
static uint8_t public_key[32], other_key[32];

static void expect_message(const hodu_error *err, const char *needle)
{
    if (strstr(err->message, needle) == NULL) {
        print_error("error message \"%s\" does not contain \"%s\"\n", err->message, needle);
        fail();
    }
}

/* A new Ed25519 key: its raw public half into pub, the private half (PEM)
 * to pem_path when given. */
static void make_key(const char *pem_path, uint8_t pub[32])
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    assert_non_null(k);
    size_t len = 32;
    assert_int_equal(EVP_PKEY_get_raw_public_key(k, pub, &len), 1);
    if (pem_path != NULL) {
        FILE *f = fopen(pem_path, "wb");
        assert_non_null(f);
        assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), 1);
        fclose(f);
    }
    EVP_PKEY_free(k);
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmp_dir, sizeof tmp_dir, "%s/hodu_test_package_XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(tmp_dir) == NULL)
        return -1;
    snprintf(key_path, sizeof key_path, "%s/key.pem", tmp_dir);
    snprintf(fake_lib, sizeof fake_lib, "%s/lib.so", tmp_dir);
    make_key(key_path, public_key);
    make_key(NULL, other_key);
    FILE *f = fopen(fake_lib, "wb");
    if (f == NULL)
        return -1;
    for (int i = 0; i < 5000; i++)
        fputc(i * 7 & 0xff, f);
    fclose(f);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Writes `name` in the temporary folder: the libraries given as
 * (target, arch, feature or NULL) triples over the fake library bytes,
 * signed when `sign`. */
static void write_package(const char *path, bool sign, size_t n, const char *const (*libs)[3])
{
    static const int64_t dims[2] = {4, 3};
    hodu_tensor_desc in = {.name = "x", .dtype = HODU_DTYPE_F32, .rank = 2, .dims = dims};
    hodu_model_desc desc = {.n_inputs = 1, .inputs = &in, .n_outputs = 1, .outputs = &in};
    hd_package_info info = {.name = "m", .version = "2", .license = "MIT", .producer = "test", .desc = &desc};
    hd_package_library l[4];
    const char *features[4][1];
    for (size_t i = 0; i < n; i++) {
        features[i][0] = libs[i][2];
        l[i] = (hd_package_library){.path = fake_lib,
                                    .target = libs[i][0],
                                    .arch = libs[i][1],
                                    .features = features[i],
                                    .n_features = libs[i][2] ? 1 : 0};
    }
    hd_diag d;
    hd_diag_init(&d, NULL);
    bool ok = hd_package_write(path, &info, l, n, sign ? key_path : NULL, &d);
    hd_diag_print(&d, stderr);
    hd_diag_free(&d);
    assert_true(ok);
}

static const char *const two_targets[2][3] = {{"x86_64-linux-gnu", "x86_64", NULL},
                                              {"aarch64-linux-gnu", "aarch64", NULL}};

static void test_signed_and_verified(void **state)
{
    (void)state;
    char path[300];
    snprintf(path, sizeof path, "%s/signed.hodupkg", tmp_dir);
    write_package(path, true, 2, two_targets);
    hodu_package_options po = {HODU_PACKAGE_REQUIRE_SIGNATURE, public_key};
    hodu_package *pkg = NULL;
    hodu_error err;
    assert_int_equal(hodu_package_open(path, &po, &pkg, &err), HODU_OK);
    assert_int_equal(hodu_package_signature_state(pkg), HODU_PACKAGE_SIGNED_VERIFIED);
    assert_int_equal(hodu_package_num_libraries(pkg), 2);
    assert_string_equal(hodu_package_library_name(pkg, 0), "lib/x86_64-linux-gnu.so");
    assert_string_equal(hodu_package_library_target(pkg, 1), "aarch64-linux-gnu");
    assert_null(hodu_package_library_name(pkg, 2));
    size_t len = 0;
    const char *m = hodu_package_manifest(pkg, &len);
    assert_int_equal(strlen(m), len);
    assert_non_null(strstr(m, "\"license\":  \"MIT\""));
    assert_non_null(strstr(m, "\"shape\":  [4, 3]"));
#if defined(__x86_64__)
    assert_int_equal(hodu_package_host_library(pkg), 0);
#elif defined(__aarch64__)
    assert_int_equal(hodu_package_host_library(pkg), 1);
#endif
    /* stand-in bytes: the load gets as far as dlopen, which refuses them */
    hodu_model *model = (hodu_model *)&err;
    assert_int_equal(hodu_package_load(pkg, &model, &err), HODU_ERR_FORMAT);
    assert_null(model);
    expect_message(&err, "cannot load model '");
    hodu_package_close(pkg);

    /* without a key: signed, not verified */
    assert_int_equal(hodu_package_open(path, NULL, &pkg, &err), HODU_OK);
    assert_int_equal(hodu_package_signature_state(pkg), HODU_PACKAGE_SIGNED_UNVERIFIED);
    hodu_package_close(pkg);

    /* another key */
    po.public_key = other_key;
    pkg = (hodu_package *)&err;
    assert_int_equal(hodu_package_open(path, &po, &pkg, &err), HODU_ERR_FORMAT);
    assert_null(pkg);
    expect_message(&err, "the signature of manifest.json does not verify with the given public key");
}

static void test_unsigned(void **state)
{
    (void)state;
    char path[300];
    snprintf(path, sizeof path, "%s/unsigned.hodupkg", tmp_dir);
    write_package(path, false, 2, two_targets);
    hodu_package *pkg = NULL;
    hodu_error err;
    assert_int_equal(hodu_package_open(path, NULL, &pkg, &err), HODU_OK);
    assert_int_equal(hodu_package_signature_state(pkg), HODU_PACKAGE_UNSIGNED);
    hodu_package_close(pkg);
    /* a key alone does not require a signature; the flag does */
    hodu_package_options po = {0, public_key};
    assert_int_equal(hodu_package_open(path, &po, &pkg, &err), HODU_OK);
    hodu_package_close(pkg);
    po.flags = HODU_PACKAGE_REQUIRE_SIGNATURE;
    assert_int_equal(hodu_package_open(path, &po, &pkg, &err), HODU_ERR_FORMAT);
    expect_message(&err, "is unsigned, but a signature is required");
}

/* One byte of the first library flipped, its CRC-32 fixed: the hash tells. */
static void test_tampered_byte(void **state)
{
    (void)state;
    char path[300];
    snprintf(path, sizeof path, "%s/tampered.hodupkg", tmp_dir);
    write_package(path, true, 2, two_targets);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static uint8_t bytes[1 << 16];
    size_t n = fread(bytes, 1, sizeof bytes, f);
    fclose(f);
    /* the libraries start on 4096-byte boundaries, after the manifest */
    assert_int_equal(bytes[HD_PACKAGE_ALIGN], 0);
    assert_true(n > HD_PACKAGE_ALIGN + 5000);
    bytes[HD_PACKAGE_ALIGN + 1234] ^= 0x40;
    uint32_t crc = hodurt_crc32(bytes + HD_PACKAGE_ALIGN, 5000);
    /* the local header's CRC sits 14 bytes in; its name and padding fill
     * the space before the data, so find the header by its name */
    const char *name = "lib/x86_64-linux-gnu.so";
    for (size_t i = 0; i + 46 < n; i++) {
        bool local = memcmp(bytes + i, "PK\3\4", 4) == 0 && memcmp(bytes + i + 30, name, strlen(name)) == 0;
        bool central = memcmp(bytes + i, "PK\1\2", 4) == 0 && memcmp(bytes + i + 46, name, strlen(name)) == 0;
        for (int b = 0; b < 4 && (local || central); b++)
            bytes[i + (local ? 14 : 16) + b] = (uint8_t)(crc >> (8 * b));
    }
    hodu_package_options po = {HODU_PACKAGE_REQUIRE_SIGNATURE, public_key};
    hodu_package *pkg = NULL;
    hodu_error err;
    assert_int_equal(hodu_package_parse(bytes, n, "t.hodupkg", &po, &pkg, &err), HODU_ERR_FORMAT);
    expect_message(&err, "package 't.hodupkg': hash mismatch: 'lib/x86_64-linux-gnu.so' has SHA-256 ");
}

/* An entry is this machine's only with its architecture and every feature. */
static void test_host_choice(void **state)
{
    (void)state;
    char path[300];
    snprintf(path, sizeof path, "%s/foreign.hodupkg", tmp_dir);
    static const char *const foreign[2][3] = {{"x86_64-linux-gnu", "x86_64", "no-such-feature"},
                                              {"aarch64-linux-gnu", "aarch64", "no-such-feature"}};
    write_package(path, false, 2, foreign);
    hodu_package *pkg = NULL;
    hodu_error err;
    assert_int_equal(hodu_package_open(path, NULL, &pkg, &err), HODU_OK);
    assert_int_equal(hodu_package_host_library(pkg), -1);
    hodu_model *model = NULL;
    assert_int_equal(hodu_package_load(pkg, &model, &err), HODU_ERR_UNSUPPORTED);
    expect_message(&err, "has no library for this machine");
    hodu_package_close(pkg);
}

static void test_arguments(void **state)
{
    (void)state;
    hodu_package *pkg = NULL;
    hodu_error err;
    hodu_package_options po = {HODU_PACKAGE_REQUIRE_SIGNATURE, NULL};
    assert_int_equal(hodu_package_parse("x", 1, "p", &po, &pkg, &err), HODU_ERR_INVALID_ARG);
    expect_message(&err, "a signature is required but no public key was given");
    po.flags = 2;
    assert_int_equal(hodu_package_parse("x", 1, "p", &po, &pkg, &err), HODU_ERR_INVALID_ARG);
    expect_message(&err, "unknown flags 0x2");
    assert_int_equal(hodu_package_parse("x", 1, "p", NULL, NULL, &err), HODU_ERR_INVALID_ARG);
    assert_int_equal(hodu_package_open(NULL, NULL, &pkg, &err), HODU_ERR_INVALID_ARG);
    assert_int_equal(hodu_package_open("/nonexistent/p.hodupkg", NULL, &pkg, &err), HODU_ERR_IO);
    assert_int_equal(hodu_package_parse("x", 1, "p", NULL, &pkg, &err), HODU_ERR_FORMAT);
    expect_message(&err, "package 'p': 1 bytes is too small for a zip archive");
    assert_int_equal(hodu_package_load(NULL, NULL, &err), HODU_ERR_INVALID_ARG);
    size_t len = 7;
    assert_null(hodu_package_manifest(NULL, &len));
    assert_int_equal(len, 0);
    assert_int_equal(hodu_package_num_libraries(NULL), 0);
    assert_int_equal(hodu_package_host_library(NULL), -1);
    assert_int_equal(hodu_package_signature_state(NULL), HODU_PACKAGE_UNSIGNED);
    hodu_package_close(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signed_and_verified), cmocka_unit_test(test_unsigned),
        cmocka_unit_test(test_tampered_byte),       cmocka_unit_test(test_host_choice),
        cmocka_unit_test(test_arguments),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
