/*
 * loader_impl.h - private to src/loader: what the ONNX reader and writer
 * share.
 */
#ifndef HODU_LOADER_IMPL_H
#define HODU_LOADER_IMPL_H

#include "onnx.pb-c.h"
#include "util/util.h"

/* Reads and unpacks the ONNX file at `path` (at most max_bytes; 0: the
 * default limit), refusing messages nested too deep before protobuf-c
 * recurses into them.  NULL after reporting to `d`; the caller frees the
 * result with onnx__model_proto__free_unpacked(m, NULL). */
Onnx__ModelProto *loader_read_model(const char *path, size_t max_bytes, hd_diag *d);

#endif /* HODU_LOADER_IMPL_H */
