/*
 * ops/sequence.c - sequences of tensors: SequenceEmpty, SequenceConstruct,
 * SequenceInsert, SequenceErase, SequenceAt, SequenceLength,
 * SplitToSequence, ConcatFromSequence, SequenceMap, Optional.
 *
 * Hodu has no sequence value at run time yet.  A sequence whose length and
 * positions are known at build time is only a list of tensors, so
 * passes/seqlower.c replaces these nodes, in schedule order during
 * inference, by the tensors they pick (Identity), the Slices that cut them
 * and the Concat that joins them, and SequenceMap by a copy of its body per
 * tensor.  What is left here is each op's schema;
 * inference proper is never reached for a node the pass took, and a node
 * it could not take was reported there already.
 */
#include "ops_impl.h"

static bool infer_lowered(op_ctx *c)
{
    return op_fail(c, "internal error: a sequence op reached shape inference (it is lowered at build time)");
}

static const op_attr_spec seq_empty_attrs[] = {{"dtype", IR_ATTR_INT}, {NULL, 0}};
static const op_attr_spec split_seq_attrs[] = {{"axis", IR_ATTR_INT}, {"keepdims", IR_ATTR_INT}, {NULL, 0}};
static const op_attr_spec concat_seq_attrs[] = {{"axis", IR_ATTR_INT}, {"new_axis", IR_ATTR_INT}, {NULL, 0}};
static const op_attr_spec seq_map_attrs[] = {{"body", IR_ATTR_GRAPH}, {NULL, 0}};
static const op_attr_spec optional_attrs[] = {{"type", IR_ATTR_OTHER}, {NULL, 0}};

OP_DEF(SEQUENCE_EMPTY, .attrs = seq_empty_attrs, .infer = infer_lowered);
OP_DEF(SEQUENCE_CONSTRUCT, .infer = infer_lowered);
OP_DEF(SEQUENCE_INSERT, .infer = infer_lowered);
OP_DEF(SEQUENCE_ERASE, .infer = infer_lowered);
OP_DEF(SEQUENCE_AT, .infer = infer_lowered);
OP_DEF(SEQUENCE_LENGTH, .infer = infer_lowered);
OP_DEF(SPLIT_TO_SEQUENCE, .attrs = split_seq_attrs, .infer = infer_lowered);
OP_DEF(CONCAT_FROM_SEQUENCE, .attrs = concat_seq_attrs, .infer = infer_lowered);
OP_DEF(SEQUENCE_MAP, .attrs = seq_map_attrs, .infer = infer_lowered);
OP_DEF(OPTIONAL, .attrs = optional_attrs, .infer = infer_lowered);
