/*
 * fuzz_package.c - libFuzzer target for libhodu_rt's package reader
 * (hodu_package_parse, src/runtime/package.c): the zip records, the
 * manifest, the hashes and the signature check.  Nothing is loaded.
 *
 * Any bytes must give either a package whose manifest and libraries can be
 * listed, or an error with a message; with a public key given, a package
 * that opens must be verified (no key is known to sign the fuzzer's
 * inputs, so that case must fail).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hodu_rt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t key[HODU_PACKAGE_PUBLIC_KEY_BYTES] = {1, 2, 3};
    const hodu_package_options options[2] = {{0, NULL}, {HODU_PACKAGE_REQUIRE_SIGNATURE, key}};
    for (int k = 0; k < 2; k++) {
        hodu_error err;
        hodu_package *pkg = NULL;
        hodu_status st = hodu_package_parse(data, size, "fuzz.hodupkg", &options[k], &pkg, &err);
        if (st != HODU_OK) {
            if (pkg != NULL || err.message[0] == '\0')
                abort();
            continue;
        }
        size_t len = 0;
        const char *manifest = hodu_package_manifest(pkg, &len);
        if (manifest == NULL || strlen(manifest) != len || hodu_package_num_libraries(pkg) == 0)
            abort();
        for (size_t i = 0; i < hodu_package_num_libraries(pkg); i++)
            if (hodu_package_library_name(pkg, i) == NULL || hodu_package_library_target(pkg, i) == NULL)
                abort();
        if (k == 1 && hodu_package_signature_state(pkg) != HODU_PACKAGE_SIGNED_VERIFIED)
            abort();
        (void)hodu_package_host_library(pkg);
        hodu_package_close(pkg);
    }
    return 0;
}
