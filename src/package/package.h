/*
 * package/package.h - writing .hodupkg packages (`hodu --package`): one
 * stored zip holding a model's library for each target, its manifest and
 * an optional Ed25519 signature (docs/packages.md; libhodu_rt's
 * src/runtime/package.c reads them).
 */
#ifndef HODU_PACKAGE_H
#define HODU_PACKAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hodu.h"
#include "hodu_rt.h"
#include "util/util.h"

/* Library entries start on this boundary in the file (a page), so a
 * reader may map one where it lies. */
#define HD_PACKAGE_ALIGN 4096u

/* One compiled library to package. */
typedef struct hd_package_library {
    const char *path;   /* the built shared library */
    const char *target; /* its triple, "aarch64-linux-gnu" */
    const char *arch;   /* its CPU architecture, "aarch64" */
    /* CPU features its code needs beyond the architecture's baseline
     * ("avx2", "fma"; the names libhodu_rt checks). */
    const char *const *features;
    size_t n_features;
} hd_package_library;

/* The manifest's description of the package. */
typedef struct hd_package_info {
    const char *name, *version, *license, *producer;
    const hodu_model_desc *desc; /* inputs and outputs (from a host build) */
} hd_package_info;

/* Writes the package `out`: manifest.json, manifest.sig when sign_key (a
 * PEM Ed25519 private key file) is given, then each library under
 * lib/<target>.so, aligned to HD_PACKAGE_ALIGN.  False after reporting
 * to d. */
bool hd_package_write(const char *out, const hd_package_info *info, const hd_package_library *libs, size_t n,
                      const char *sign_key, hd_diag *d);

/* A new Ed25519 key pair: the private key (PEM) to private_path, created
 * with mode 0600 and never over an existing file, the public key (PEM) to
 * public_path. */
bool hd_package_keygen(const char *private_path, const char *public_path, hd_diag *d);

/* Reads the raw Ed25519 public key from a PEM file (`openssl pkey -pubout`). */
bool hd_package_read_public_key(const char *path, uint8_t key[HODU_PACKAGE_PUBLIC_KEY_BYTES], hd_diag *d);

/* What `hodu --package` was asked for besides the build options. */
typedef struct hd_package_request {
    const char *targets; /* comma-separated triples; NULL: the host's */
    const char *name;    /* NULL: the model's own name */
    const char *version; /* NULL: "0" */
    const char *license; /* NULL: "unspecified" */
    const char *sign_key;
} hd_package_request;

/* Builds o->input_path once for each target (o->output_path is the
 * package) and writes the package.  Returns 0, or 1 after reporting. */
int hd_package_build(const hodu_build_options *o, const hd_package_request *req);

#endif
