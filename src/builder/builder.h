/*
 * builder/builder.h - the graph-building front end: graphs made by calls
 * (include/hodu.h, "building graphs from code") instead of read from a
 * file.  The calls live in builder.c; what the driver needs to compile such
 * a graph is below.
 */
#ifndef HODU_BUILDER_H
#define HODU_BUILDER_H

#include "hodu.h"
#include "ir/ir.h"
#include "util/util.h"

/* A fresh IR graph holding what the calls made so far, for the pipeline to
 * consume; the builder's own graph stays as it is.  Constants point at the
 * builder's copies, so the builder must outlive it.  NULL after reporting
 * a graph that cannot compile as it is (no outputs). */
ir_graph *builder_ir(const hodu_graph *g, hd_diag *d);

/* The graph's name, which starts its messages. */
const char *builder_name(const hodu_graph *g);

/* Sets what hodu_graph_error returns: the diag's lines, '\n' apart (none:
 * the empty string). */
void builder_set_error(hodu_graph *g, const hd_diag *d);
/* The same from text the caller has already joined (taken over). */
void builder_take_error(hodu_graph *g, char *text);

#endif /* HODU_BUILDER_H */
