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
 *     "<OpType>_<index>".  A node in the compiler's own domain "hodu" is
 *     refused: those ops (FusedElementwise) are made by passes and their
 *     attributes hold node indices that only a pass can vouch for;
 *   - graph outputs marked is_output and listed in g->outputs; their declared
 *     dtype and shape are kept as hints on node-produced values.
 *
 * Attribute kinds: INT, FLOAT, STRING, INTS, FLOATS, STRINGS and TENSOR map
 * one to one (a TENSOR attribute becomes a constant value named
 * "<node>.<attr>" whose index is in attr->tensor).  GRAPH attributes are
 * IR_ATTR_GRAPH with the subgraph's name in attr->s and the subgraph itself,
 * loaded like the main graph, in attr->graph; a name it reads from an
 * enclosing graph becomes a captured operand of each node on the way (ir.h,
 * "Subgraphs"), and a name defined nowhere is an error.  Subgraph inputs
 * need no declared type (the op's inference gives it).  GRAPHS attributes are
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
#include <stdint.h>

#include "ir/ir.h"
#include "util/util.h"

/* The range of default-domain opsets the loader accepts. */
#define HODU_ONNX_MIN_OPSET 1
#define HODU_ONNX_MAX_OPSET 27

/* Limits on what a model file may ask for.  Each is checked before the
 * loader builds anything for it and refused with an error naming the limit, so a
 * hostile file gets a clear message instead of an out-of-memory abort or a
 * build that never ends.  The values leave wide margins over real models: a
 * large LLM graph has 10^4..10^5 nodes and a few thousand initializers, and
 * ONNX ops take at most a few dozen attributes.
 *
 * HODU_MAX_NODES bounds build time more than memory: the loader and passes
 * are linear (a 10^6-node chain goes through them in about 5 s), but the C
 * compiler is not fast on that much code (gcc -O3 on a 200,000-node chain of
 * Relu takes about 15 s, on 10^6 nodes about 140 s). */
#define HODU_MAX_MODEL_BYTES    (UINT64_C(4) << 30)  /* the .onnx file itself */
#define HODU_MAX_EXTERNAL_BYTES (UINT64_C(16) << 30) /* all external data together */
#define HODU_MAX_NODES          500000               /* nodes in all graphs together */
#define HODU_MAX_VALUES         (1 << 21)            /* inputs + initializers + node outputs, all graphs */
#define HODU_MAX_INITIALIZERS   (1 << 20)
#define HODU_MAX_GRAPH_IO       65536     /* graph inputs, and graph outputs, each */
#define HODU_MAX_NODE_IO        65536     /* inputs, and outputs, of one node each */
#define HODU_MAX_EDGES          (1 << 24) /* node inputs summed over all graphs */
#define HODU_MAX_NODE_ATTRS     64        /* attributes of one node */
#define HODU_MAX_ATTR_ELEMS     (1 << 24) /* elements of one ints/floats/strings attribute */
#define HODU_MAX_STRING_BYTES   65536     /* one string attribute (or element of strings) */
#define HODU_MAX_NAME_BYTES     4096      /* a node, value, domain or op type name */
#define HODU_MAX_SYMBOLS        4096      /* distinct dim_param names */
#define HODU_MAX_SUBGRAPH_DEPTH 16        /* control-flow subgraphs nested in each other */
/* Rank: HODU_MAX_RANK (hodu_abi.h) for every tensor and declared shape. */

/* The domain of the compiler's own ops (src/ops: FusedElementwise, made by
 * the fusion pass).  Nodes in it, or in "hodu.*", are refused on load. */
#define HODU_INTERNAL_DOMAIN "hodu"

typedef struct hodu_load_options {
    size_t max_file_bytes; /* largest .onnx file read; 0 = HODU_MAX_MODEL_BYTES */
    /* --input-shape arguments: those of a sequence input ("x=[2x3,4x3]",
     * its length and its tensors' dims) or of an absent optional one
     * ("x=none") shape the graph's inputs (loader_is_value_binding). */
    const char *const *input_shapes;
    size_t n_input_shapes;
} hodu_load_options;

/* Whether --input-shape argument `arg` binds a sequence ("NAME=[...]") or
 * an absent optional ("NAME=none"), which the loader takes, rather than
 * one tensor's dims. */
bool loader_is_value_binding(const char *arg);

/* Loads the ONNX model at `path`.  `opts` may be NULL.  Returns the graph
 * (the caller frees it with ir_graph_free), or NULL after reporting the
 * reason to `d`. */
ir_graph *hodu_load_onnx(const char *path, const hodu_load_options *opts, hd_diag *d);

/* `hodu --export-onnx`: writes the model at `path` to `out_path` with the
 * initializers that the safetensors file `weights` names replaced by its
 * tensors (a training checkpoint: its optimizer state, "<name>.adam_m" and
 * the like, is left out).  Each such tensor must have its initializer's
 * dtype and shape, and every tensor must be an initializer or optimizer
 * state; anything else is an error naming it, and nothing is written. */
bool hodu_export_onnx(const char *path, const char *weights, const char *out_path, hd_diag *d);

#endif /* HODU_LOADER_H */
