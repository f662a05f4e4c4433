/*
 * package_key.c - opens a package requiring its signature under a given
 * Ed25519 public key (tests/targets/cross.sh: a cross-built runtime checks
 * it under emulation, with libsodium or libcrypto).
 *
 *     package_key PACKAGE KEY
 *
 * KEY is a file holding the 32 bytes of the raw public key.  When the
 * package is refused, prints hodu_package_open's error and exits 1.
 * Otherwise prints "signature verified", loads the package's entry for this
 * machine if it has one ("loaded NAME (TARGET)"; exit 1 when that fails)
 * and exits 0.
 */
#include <stdint.h>
#include <stdio.h>

#include <hodu_rt.h>

/* The key file's bytes: exactly HODU_PACKAGE_PUBLIC_KEY_BYTES of them. */
static int read_key(const char *path, uint8_t key[HODU_PACKAGE_PUBLIC_KEY_BYTES])
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        return 0;
    }
    uint8_t extra;
    size_t n = fread(key, 1, HODU_PACKAGE_PUBLIC_KEY_BYTES, f);
    int ok = n == HODU_PACKAGE_PUBLIC_KEY_BYTES && fread(&extra, 1, 1, f) == 0;
    fclose(f);
    if (!ok)
        fprintf(stderr, "package_key: %s is not a %u-byte raw public key\n", path, HODU_PACKAGE_PUBLIC_KEY_BYTES);
    return ok;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: package_key PACKAGE KEY\n");
        return 2;
    }
    uint8_t key[HODU_PACKAGE_PUBLIC_KEY_BYTES];
    if (!read_key(argv[2], key))
        return 2;
    hodu_package_options o = {HODU_PACKAGE_REQUIRE_SIGNATURE, key};
    hodu_package *pkg;
    hodu_error err;
    if (hodu_package_open(argv[1], &o, &pkg, &err) != HODU_OK) {
        printf("%s\n", err.message);
        return 1;
    }
    int rc = 0;
    if (hodu_package_signature_state(pkg) == HODU_PACKAGE_SIGNED_VERIFIED)
        printf("signature verified\n");
    else {
        printf("opened, but the signature is not marked verified\n");
        rc = 1;
    }
    long pick = hodu_package_host_library(pkg);
    if (pick >= 0) {
        hodu_model *model;
        if (hodu_package_load(pkg, &model, &err) != HODU_OK) {
            printf("%s\n", err.message);
            rc = 1;
        } else {
            printf("loaded %s (%s)\n", hodu_package_library_name(pkg, (size_t)pick),
                   hodu_package_library_target(pkg, (size_t)pick));
            hodu_model_close(model);
        }
    }
    hodu_package_close(pkg);
    return rc;
}
