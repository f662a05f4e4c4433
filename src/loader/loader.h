/*
 * loader.h - the ONNX front end: reads a .onnx file into an ir_graph.
 *
 * The loader turns the model's main graph into IR and checks everything that
 * can be checked without knowing op semantics: the default-domain opset, one
 * definition per value name, every node input defined somewhere, initializer
 * data sizes against their shapes, and external data files that stay inside
 * the model's folder.  It does not sort nodes (ir_schedule does, and reports
 * cycles) and does not infer shapes (the passes do; value_info is ignored).
 *
 * What the graph holds after a successful load:
 *   - graph inputs that are not initializers: IR_VALUE_INPUT values, listed
 *     in g->inputs in model order, with dtype and shape from the model (dims
 *     are a size, a symbol from dim_param, or unknown: size -1, sym NULL);
 *   - initializers and TENSOR attributes: IR_VALUE_CONST values.  raw_data
 *     buffers are adopted from the protobuf message without a copy; typed
 *     fields and external data are converted into new graph-owned buffers;
 *   - one node per NodeProto, in file order, with op = op_find(domain,
 *     op_type) (-1 when the op is unknown: later stages report that), domain
 *     "" for the default ONNX domain, and names kept or synthesised as
 *     "<OpType>_<index>";
 *   - graph outputs marked is_output and listed in g->outputs; their declared
 *     dtype and shape are kept as hints on node-produced values.
 *
 * Attribute kinds: INT, FLOAT, STRING, INTS, FLOATS, STRINGS and TENSOR map
 * one to one (a TENSOR attribute becomes a constant value named
 * "<node>.<attr>" whose index is in attr->tensor).  GRAPH attributes are
 * IR_ATTR_GRAPH with the subgraph's name in attr->s; GRAPHS attributes are
 * IR_ATTR_GRAPH with the subgraph names in attr->strings (attr->n of them).
 * Anything else (sparse tensors, type protos, lists of tensors) is
 * IR_ATTR_OTHER.  When an old model leaves AttributeProto.type unset the kind
 * is taken from the field that is present.
 *
 * Errors are reported to `d` as one line each, without the file name (hd_diag
 * prefixes it), and the loader then returns NULL having freed everything.
 */
#ifndef HODU_LOADER_H
#define HODU_LOADER_H

#include <stddef.h>

#include "ir/ir.h"
#include "util/util.h"

/* The range of default-domain opsets the loader accepts. */
#define HODU_ONNX_MIN_OPSET 7
#define HODU_ONNX_MAX_OPSET 27

typedef struct hodu_load_options {
    size_t max_file_bytes; /* largest .onnx file read; 0 = default (4 GiB) */
} hodu_load_options;

/* Loads the ONNX model at `path`.  `opts` may be NULL.  Returns the graph
 * (the caller frees it with ir_graph_free), or NULL after reporting the
 * reason to `d`. */
ir_graph *hodu_load_onnx(const char *path, const hodu_load_options *opts, hd_diag *d);

#endif /* HODU_LOADER_H */
