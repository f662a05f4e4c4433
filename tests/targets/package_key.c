/*
 * package_key.c - opens a package asking for a signature check
 * (tests/targets/cross.sh, Windows: its runtime has no Ed25519 and must
 * refuse rather than open the package unchecked).
 *
 *     package_key PACKAGE
 *
 * Prints hodu_package_open's error and exits 1 when it is refused, exits 0
 * when it opens.
 */
#include <stdio.h>
#include <stdint.h>

#include <hodu_rt.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: package_key PACKAGE\n");
        return 2;
    }
    /* any key: the check must not get as far as using it */
    static const uint8_t key[HODU_PACKAGE_PUBLIC_KEY_BYTES] = {1};
    hodu_package_options o = {HODU_PACKAGE_REQUIRE_SIGNATURE, key};
    hodu_package *pkg;
    hodu_error err;
    if (hodu_package_open(argv[1], &o, &pkg, &err) != HODU_OK) {
        printf("%s\n", err.message);
        return 1;
    }
    hodu_package_close(pkg);
    return 0;
}
