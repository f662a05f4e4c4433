/*
 * onnx_loader.c - ModelProto (protobuf-c) -> ir_graph.
 *
 * The steps, in order:
 *   1. read the file (bounded), check that its messages do not nest deeper
 *      than MAX_NESTING (protobuf-c's unpacker recurses once per level, so a
 *      small hostile file could otherwise exhaust the stack), and unpack it;
 *   2. find the default-domain opset (0 when the model imports only others);
 *   3. graph inputs that are not initializers become run-time inputs;
 *   4. initializers become constants;
 *   5. every node output gets a value (so nodes may be listed in any order);
 *   6. nodes are created with their inputs resolved, then their attributes;
 *   7. graph outputs are marked.
 * Any failure reports one error and unwinds: the protobuf message, the name
 * map and the half-built graph are all freed.
 */
#include "loader/loader.h"
#include "loader/loader_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "onnx.pb-c.h"
#include "ops/ops.h"
#include "util/hash.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "onnx_loader.c adopts raw_data (little-endian) as is: add byte swapping for big-endian hosts"
#endif

/* Deepest message nesting accepted (the C++ protobuf library's default
 * recursion limit is 100 as well). */
#define MAX_NESTING 100

/* ------------------------------------------------------------------------ */
/* Wire-format pre-scan: walks the encoded bytes guided by the generated
 * descriptors and measures how deeply messages nest.  It does not allocate
 * and its own recursion stops at MAX_NESTING. */

typedef enum scan_result { SCAN_OK, SCAN_MALFORMED, SCAN_TOO_DEEP } scan_result;

static bool read_varint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (*p >= end)
            return false;
        uint8_t byte = *(*p)++;
        v |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80)) {
            *out = v;
            return true;
        }
    }
    return false;
}

static scan_result scan_message(const uint8_t *p, const uint8_t *end, const ProtobufCMessageDescriptor *desc, int depth)
{
    if (depth > MAX_NESTING)
        return SCAN_TOO_DEEP;
    while (p < end) {
        uint64_t tag, skip;
        if (!read_varint(&p, end, &tag))
            return SCAN_MALFORMED;
        uint64_t field = tag >> 3;
        if (field == 0 || field > UINT32_MAX)
            return SCAN_MALFORMED;
        switch (tag & 7) {
        case 0: /* varint */
            if (!read_varint(&p, end, &skip))
                return SCAN_MALFORMED;
            break;
        case 1: /* 64-bit */
            if (end - p < 8)
                return SCAN_MALFORMED;
            p += 8;
            break;
        case 5: /* 32-bit */
            if (end - p < 4)
                return SCAN_MALFORMED;
            p += 4;
            break;
        case 2: { /* length-delimited: bytes, string, packed, or a message */
            if (!read_varint(&p, end, &skip) || skip > (uint64_t)(end - p))
                return SCAN_MALFORMED;
            const ProtobufCFieldDescriptor *f =
                desc ? protobuf_c_message_descriptor_get_field(desc, (unsigned)field) : NULL;
            if (f && f->type == PROTOBUF_C_TYPE_MESSAGE) {
                scan_result r = scan_message(p, p + skip, f->descriptor, depth + 1);
                if (r != SCAN_OK)
                    return r;
            }
            p += skip;
            break;
        }
        default: /* groups (3, 4) are not used by ONNX; 6 and 7 do not exist */ return SCAN_MALFORMED;
        }
    }
    return SCAN_OK;
}

/* ------------------------------------------------------------------------ */

/* The names one graph defines.  A subgraph's scope knows the node that
 * owns it (in the parent scope's graph), which captures what the subgraph
 * reads from outside. */
typedef struct scope {
    ir_graph *g;
    hd_strmap values; /* value name -> value id in g */
    struct scope *parent;
    int owner; /* node of parent->g whose subgraph g is; -1 for the main graph */
    int depth; /* 0 for the main graph */
} scope;

typedef struct loader {
    ir_graph *g; /* the graph being loaded (the current scope's) */
    hd_diag *d;
    char *model_dir; /* folder external data is resolved against */
    scope *sc;       /* the innermost scope being loaded */
    /* Nodes, values and edges of every graph loaded so far (the limits
     * hold for the model as a whole, subgraphs included). */
    size_t total_nodes, total_values, total_edges;
    hd_strmap symbols;               /* dim_param names seen (keys live in the message) */
    uint64_t external_bytes;         /* external data read so far */
    const char *file;                /* the model's path, interned in the graph */
    ir_loc at;                       /* what is being loaded: errors are placed there */
    const char *const *input_shapes; /* hodu_load_options */
    size_t n_input_shapes;
} loader;

static const char *str_or_empty(const char *s) { return s ? s : ""; }

/* ONNX's name for an element type number, for messages. */
static const char *onnx_type_name(int32_t t)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(&onnx__tensor_proto__data_type__descriptor, t);
    return v ? v->name : "unknown";
}

/* The element types Hodu represents (the numbering is ONNX's). */
static bool dtype_supported(int32_t t)
{
    return (t >= HODU_DTYPE_F32 && t <= HODU_DTYPE_U64) || (t >= HODU_DTYPE_BF16 && t < HODU_DTYPE_COUNT_);
}

/* "[4,4]" for messages. */
static char *shape_text(const int64_t *dims, size_t n)
{
    hd_buf b;
    hd_buf_init(&b);
    hd_buf_putc(&b, '[');
    for (size_t i = 0; i < n; i++)
        hd_buf_printf(&b, "%s%" PRId64, i ? "," : "", dims[i]);
    hd_buf_putc(&b, ']');
    return hd_buf_take(&b);
}

/* The name a node has in the IR (the model's, or "<OpType>_<index>"). */
static char *node_name(const Onnx__NodeProto *n, size_t index)
{
    if (n->name && *n->name)
        return hd_xstrdup(n->name);
    return hd_xasprintf("%s_%zu", str_or_empty(n->op_type), index);
}

/* The location of entry `index` of one of the graph's lists. */
static ir_loc onnx_loc(const loader *L, ir_loc_kind kind, size_t index)
{
    ir_loc loc = {.kind = kind, .file = L->file, .index = (int64_t)index};
    return loc;
}

static void loader_err(loader *L, const char *fmt, ...) HD_PRINTF(2, 3);
static void loader_err(loader *L, const char *fmt, ...)
{
    /* Before the graph exists (opset, limits) there is nothing to point at
     * but the file, which the diag prints anyway. */
    char *where = L->at.kind != IR_LOC_NONE ? ir_loc_format(&L->at) : NULL;
    va_list ap;
    va_start(ap, fmt);
    hd_verror_at(L->d, where, fmt, ap);
    va_end(ap);
    free(where);
}

/* An error about node proto `n` before (or while) its IR node is built; the
 * same form as ir_node_error. */
static void node_err(loader *L, const Onnx__NodeProto *n, size_t index, const char *fmt, ...) HD_PRINTF(4, 5);
static void node_err(loader *L, const Onnx__NodeProto *n, size_t index, const char *fmt, ...)
{
    hd_buf b;
    hd_buf_init(&b);
    va_list ap;
    va_start(ap, fmt);
    hd_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    char *name = node_name(n, index);
    ir_loc loc = onnx_loc(L, IR_LOC_ONNX_NODE, index);
    char *where = ir_loc_format(&loc);
    hd_error_at(L->d, where, "node '%s' (%s): %s", name, str_or_empty(n->op_type), b.data ? b.data : "");
    free(where);
    free(name);
    hd_buf_free(&b);
}

/* ------------------------------------------------------------------------ */
/* Tensors */

/* Zero-element constants point here so that data is never NULL. */
static const uint64_t empty_tensor_data[1];

typedef enum typed_field {
    FIELD_FLOAT,
    FIELD_INT32,
    FIELD_INT64,
    FIELD_DOUBLE,
    FIELD_UINT64,
    FIELD_STRING,
    FIELD_COUNT_
} typed_field;

static const char *const typed_field_names[FIELD_COUNT_] = {"float_data",  "int32_data",  "int64_data",
                                                            "double_data", "uint64_data", "string_data"};

static size_t typed_field_count(const Onnx__TensorProto *t, typed_field f)
{
    switch (f) {
    case FIELD_FLOAT: return t->n_float_data;
    case FIELD_INT32: return t->n_int32_data;
    case FIELD_INT64: return t->n_int64_data;
    case FIELD_DOUBLE: return t->n_double_data;
    case FIELD_UINT64: return t->n_uint64_data;
    case FIELD_STRING: return t->n_string_data;
    default: return 0;
    }
}

/* The typed field ONNX stores elements of type `t` in. */
static typed_field field_for_dtype(hodu_dtype t)
{
    switch (t) {
    case HODU_DTYPE_F32: return FIELD_FLOAT;
    case HODU_DTYPE_I64: return FIELD_INT64;
    case HODU_DTYPE_F64: return FIELD_DOUBLE;
    case HODU_DTYPE_U32:
    case HODU_DTYPE_U64: return FIELD_UINT64;
    default: return FIELD_INT32; /* i32, i16, i8, u16, u8, bool, f16, bf16 */
    }
}

/* Converts the typed field into a new buffer of `numel` elements of `t`. */
static void *convert_typed(const Onnx__TensorProto *t, hodu_dtype dt, size_t numel, size_t nbytes)
{
    uint8_t *out = hd_xmalloc(nbytes);
    switch (dt) {
    case HODU_DTYPE_F32: memcpy(out, t->float_data, nbytes); break;
    case HODU_DTYPE_F64: memcpy(out, t->double_data, nbytes); break;
    case HODU_DTYPE_I64: memcpy(out, t->int64_data, nbytes); break;
    case HODU_DTYPE_U64: memcpy(out, t->uint64_data, nbytes); break;
    case HODU_DTYPE_I32: memcpy(out, t->int32_data, nbytes); break;
    case HODU_DTYPE_U32:
        for (size_t i = 0; i < numel; i++) {
            uint32_t v = (uint32_t)t->uint64_data[i];
            memcpy(out + 4 * i, &v, 4);
        }
        break;
    case HODU_DTYPE_I16:
    case HODU_DTYPE_U16:
    case HODU_DTYPE_F16:
    case HODU_DTYPE_BF16: /* the 16-bit patterns sit in the low half */
        for (size_t i = 0; i < numel; i++) {
            uint16_t v = (uint16_t)(uint32_t)t->int32_data[i];
            memcpy(out + 2 * i, &v, 2);
        }
        break;
    case HODU_DTYPE_BOOL:
        for (size_t i = 0; i < numel; i++)
            out[i] = t->int32_data[i] != 0;
        break;
    default: /* i8, u8, the narrow types (a byte each, or a packed byte) */
        for (size_t i = 0; i < numel; i++)
            out[i] = (uint8_t)(uint32_t)t->int32_data[i];
        break;
    }
    return out;
}

/* ONNX packs 4- and 2-bit elements into bytes, lowest bits first; Hodu
 * keeps one per byte (hodu_abi.h).  Takes `packed` (freed) and returns the
 * numel-byte form. */
static void *unpack_narrow(void *packed, int bits, size_t numel)
{
    const uint8_t *src = packed;
    uint8_t *out = hd_xmalloc(numel ? numel : 1);
    size_t per = (size_t)(8 / bits);
    for (size_t i = 0; i < numel; i++)
        out[i] = (uint8_t)((src[i / per] >> ((i % per) * (size_t)bits)) & ((1u << bits) - 1u));
    free(packed);
    return out;
}

/* Parses a non-negative decimal number written in an external_data entry. */
static bool parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s)
        return false;
    uint64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        unsigned digit = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - digit) / 10)
            return false;
        v = v * 10 + digit;
    }
    *out = v;
    return true;
}

/* True when some '/'- or '\'-separated component of `loc` is "..". */
static bool has_dotdot_component(const char *loc)
{
    const char *p = loc;
    while (*p) {
        const char *e = p;
        while (*e && *e != '/' && *e != '\\')
            e++;
        if (e - p == 2 && p[0] == '.' && p[1] == '.')
            return true;
        p = *e ? e + 1 : e;
    }
    return false;
}

/* Opens `loc` (relative) under `dir` one component at a time, refusing to
 * follow a symbolic link anywhere along the way.  Returns an fd or -1 with
 * errno set. */
static int open_beneath(const char *dir, const char *loc)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return -1;
    char *copy = hd_xstrdup(loc);
    char *p = copy;
    int fd = -1;
    for (;;) {
        char *slash = strchr(p, '/');
        if (slash)
            *slash = '\0';
        if (*p == '\0' || strcmp(p, ".") == 0) {
            if (!slash) {
                errno = EISDIR;
                break;
            }
            p = slash + 1;
            continue;
        }
        if (slash) {
            int next = openat(dfd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (next < 0)
                break;
            close(dfd);
            dfd = next;
            p = slash + 1;
        } else {
            /* O_NONBLOCK: opening a FIFO must not hang the compiler. */
            fd = openat(dfd, p, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
            break;
        }
    }
    int saved = errno;
    close(dfd);
    free(copy);
    errno = saved;
    return fd;
}

/* Reads the external bytes of tensor `name`; `nbytes` is what its shape
 * needs.  Returns a new buffer or NULL after reporting. */
static void *read_external(loader *L, const Onnx__TensorProto *t, const char *name, size_t nbytes, const char *shape,
                           hodu_dtype dt)
{
    const char *loc = NULL, *off_s = NULL, *len_s = NULL;
    for (size_t i = 0; i < t->n_external_data; i++) {
        const Onnx__StringStringEntryProto *e = t->external_data[i];
        if (!e->key)
            continue;
        if (strcmp(e->key, "location") == 0)
            loc = e->value;
        else if (strcmp(e->key, "offset") == 0)
            off_s = e->value;
        else if (strcmp(e->key, "length") == 0)
            len_s = e->value;
    }
    if (!loc || !*loc) {
        loader_err(L, "tensor '%s': external data has no location", name);
        return NULL;
    }
    /* The cap comes first: the shape alone says how much would be read. */
    if ((uint64_t)nbytes > HODU_MAX_EXTERNAL_BYTES - L->external_bytes) {
        loader_err(L,
                   "tensor '%s': its %zu bytes of external data would pass the limit of %" PRIu64
                   " bytes of external data per model",
                   name, nbytes, (uint64_t)HODU_MAX_EXTERNAL_BYTES);
        return NULL;
    }
    if (loc[0] == '/' || loc[0] == '\\') {
        loader_err(L, "tensor '%s': external data location '%s' is an absolute path", name, loc);
        return NULL;
    }
    if (has_dotdot_component(loc)) {
        loader_err(L, "tensor '%s': external data location '%s' leaves the model's folder ('..')", name, loc);
        return NULL;
    }
    uint64_t offset = 0, length = 0;
    if (off_s && !parse_u64(off_s, &offset)) {
        loader_err(L, "tensor '%s': external data offset '%s' is not a non-negative integer", name, off_s);
        return NULL;
    }
    if (len_s && !parse_u64(len_s, &length)) {
        loader_err(L, "tensor '%s': external data length '%s' is not a non-negative integer", name, len_s);
        return NULL;
    }

    char *full = hd_xasprintf("%s/%s", L->model_dir, loc);
    struct stat st;
    if (lstat(full, &st) != 0) {
        loader_err(L, "tensor '%s': cannot open external data file '%s': %s", name, loc, strerror(errno));
        free(full);
        return NULL;
    }
    free(full);
    if (S_ISLNK(st.st_mode)) {
        loader_err(L, "tensor '%s': external data file '%s' is a symbolic link", name, loc);
        return NULL;
    }
    int fd = open_beneath(L->model_dir, loc);
    if (fd < 0) {
        if (errno == ELOOP || errno == ENOTDIR)
            loader_err(L, "tensor '%s': external data location '%s' passes through a symbolic link", name, loc);
        else
            loader_err(L, "tensor '%s': cannot open external data file '%s': %s", name, loc, strerror(errno));
        return NULL;
    }
    void *data = NULL;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        loader_err(L, "tensor '%s': external data file '%s' is not a regular file", name, loc);
        goto done;
    }
    uint64_t fsize = (uint64_t)st.st_size;
    if (offset > fsize) {
        loader_err(L, "tensor '%s': external data offset %" PRIu64 " is past the end of '%s' (%" PRIu64 " bytes)", name,
                   offset, loc, fsize);
        goto done;
    }
    if (!len_s)
        length = fsize - offset;
    if (length > fsize - offset) {
        loader_err(L,
                   "tensor '%s': external data range (offset %" PRIu64 ", length %" PRIu64
                   ") runs past the end of '%s' (%" PRIu64 " bytes)",
                   name, offset, length, loc, fsize);
        goto done;
    }
    if (length != (uint64_t)nbytes) {
        loader_err(L, "tensor '%s': external data holds %" PRIu64 " bytes but its shape %s of %s needs %zu", name,
                   length, shape, ir_dtype_name(dt), nbytes);
        goto done;
    }
    /* Only now, with the size checked against the file, allocate. */
    /* Plain malloc: a large tensor the host cannot hold is the model's
     * problem to report, not an abort. */
    uint8_t *buf = malloc(nbytes ? nbytes : 1);
    if (!buf) {
        loader_err(L, "tensor '%s': cannot allocate %zu bytes for its external data", name, nbytes);
        goto done;
    }
    size_t got = 0;
    while (got < nbytes) {
        ssize_t r = pread(fd, buf + got, nbytes - got, (off_t)(offset + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            loader_err(L, "tensor '%s': cannot read external data file '%s': %s", name, loc,
                       r < 0 ? strerror(errno) : "file ended early");
            free(buf);
            goto done;
        }
        got += (size_t)r;
    }
    data = buf;
    L->external_bytes += nbytes;
done:
    close(fd);
    return data;
}

/* Turns TensorProto `t` into a constant named `name`.  raw_data is adopted
 * (the message's pointer is cleared).  Returns the value id, or -1 after
 * reporting. */
static int load_tensor(loader *L, Onnx__TensorProto *t, const char *name)
{
    int32_t type = t->has_data_type ? t->data_type : 0;
    if (type == HODU_DTYPE_STRING) {
        loader_err(L, "tensor '%s': string tensors are not supported", name);
        return -1;
    }
    if (type == 0) {
        loader_err(L, "tensor '%s' has no data type", name);
        return -1;
    }
    if (!dtype_supported(type)) {
        loader_err(L, "tensor '%s': element type %s (%d) is not supported", name, onnx_type_name(type), (int)type);
        return -1;
    }
    hodu_dtype dt = (hodu_dtype)type;
    if (t->segment) {
        loader_err(L, "tensor '%s': segmented tensors are not supported", name);
        return -1;
    }
    if (t->n_dims > HODU_MAX_RANK) {
        loader_err(L, "tensor '%s' has rank %zu; at most %d is supported", name, t->n_dims, HODU_MAX_RANK);
        return -1;
    }
    uint64_t numel = 1;
    for (size_t i = 0; i < t->n_dims; i++) {
        if (t->dims[i] < 0) {
            loader_err(L, "tensor '%s': dimension %zu is negative (%" PRId64 ")", name, i, t->dims[i]);
            return -1;
        }
        if (__builtin_mul_overflow(numel, (uint64_t)t->dims[i], &numel) || numel > (uint64_t)INT64_MAX) {
            char *sh = shape_text(t->dims, t->n_dims);
            loader_err(L, "tensor '%s': element count of shape %s overflows", name, sh);
            free(sh);
            return -1;
        }
    }
    uint64_t nbytes64;
    if (__builtin_mul_overflow(numel, (uint64_t)ir_dtype_size(dt), &nbytes64) || nbytes64 > (uint64_t)SIZE_MAX) {
        char *sh = shape_text(t->dims, t->n_dims);
        loader_err(L, "tensor '%s': byte size of shape %s overflows", name, sh);
        free(sh);
        return -1;
    }
    size_t nbytes = (size_t)nbytes64;
    /* What the file holds: 4- and 2-bit elements packed, several a byte. */
    int bits = ir_dtype_narrow_bits(dt);
    bool packed = bits == 4 || bits == 2;
    size_t stored = nbytes;
    if (packed)
        stored = nbytes / (size_t)(8 / bits) + (nbytes % (size_t)(8 / bits) != 0);

    /* Exactly one place may hold the data. */
    typed_field want = field_for_dtype(dt);
    const char *typed_present = NULL;
    for (int f = 0; f < FIELD_COUNT_; f++) {
        if (typed_field_count(t, (typed_field)f) == 0)
            continue;
        if ((typed_field)f != want) {
            loader_err(L, "tensor '%s': %s data cannot be stored in %s", name, ir_dtype_name(dt), typed_field_names[f]);
            return -1;
        }
        typed_present = typed_field_names[f];
    }
    bool external = t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    bool raw = t->has_raw_data;
    if ((int)external + (int)raw + (int)(typed_present != NULL) > 1) {
        loader_err(L, "tensor '%s' stores its data in more than one place (%s and %s)", name,
                   external ? "external data" : "raw_data", typed_present ? typed_present : "raw_data");
        return -1;
    }

    char *sh = shape_text(t->dims, t->n_dims);
    const void *data = NULL;
    if (external) {
        void *buf = read_external(L, t, name, stored, sh, dt);
        if (!buf) {
            free(sh);
            return -1;
        }
        data = ir_graph_keep(L->g, packed ? unpack_narrow(buf, bits, nbytes) : buf);
    } else if (raw) {
        if (t->raw_data.len != stored) {
            loader_err(L, "tensor '%s': raw_data holds %zu bytes but its shape %s of %s needs %zu", name,
                       t->raw_data.len, sh, ir_dtype_name(dt), stored);
            free(sh);
            return -1;
        }
        if (nbytes) {
            /* Zero copy: protobuf-c's default allocator malloc'd this buffer;
             * the graph frees it with free(). */
            void *buf = t->raw_data.data;
            t->raw_data.data = NULL;
            t->raw_data.len = 0;
            t->has_raw_data = 0;
            data = ir_graph_keep(L->g, packed ? unpack_narrow(buf, bits, nbytes) : buf);
        }
    } else {
        size_t have = typed_field_count(t, want);
        if (have == 0 && numel > 0) {
            loader_err(L, "tensor '%s' has no data but its shape %s of %s needs %zu bytes", name, sh, ir_dtype_name(dt),
                       nbytes);
            free(sh);
            return -1;
        }
        /* packed types: one packed byte per int32 */
        uint64_t need = packed ? (uint64_t)stored : numel;
        if (have != need) {
            loader_err(L, "tensor '%s': %s holds %zu values but its shape %s of %s needs %" PRIu64, name,
                       typed_field_names[want], have, sh, ir_dtype_name(dt), need);
            free(sh);
            return -1;
        }
        if (nbytes) {
            void *buf = convert_typed(t, dt, (size_t)need, stored);
            data = ir_graph_keep(L->g, packed ? unpack_narrow(buf, bits, nbytes) : buf);
        }
    }
    free(sh);
    if (!data)
        data = empty_tensor_data;
    int v = ir_const_new(L->g, name, dt, (int)t->n_dims, t->dims, data, nbytes);
    /* An initializer, or a node's tensor attribute: whatever is loading. */
    ir_val(L->g, v)->loc = L->at;
    return v;
}

/* ------------------------------------------------------------------------ */
/* Graph inputs and outputs */

static const char *type_case_name(Onnx__TypeProto__ValueCase c)
{
    switch (c) {
    case ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE: return "a sequence";
    case ONNX__TYPE_PROTO__VALUE_MAP_TYPE: return "a map";
    case ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE: return "an optional";
    case ONNX__TYPE_PROTO__VALUE_SPARSE_TENSOR_TYPE: return "a sparse tensor";
    default: return "of an unknown kind";
    }
}

/* Copies the declared type of `vi` onto value `v`.  `what` is "graph input"
 * or "graph output".  Inputs must declare a tensor element type; for outputs
 * the type is only a hint and may be missing. */
static bool load_type(loader *L, int v, const char *name, const Onnx__TypeProto *tp, const char *what, bool required)
{
    if (!tp || tp->value_case == ONNX__TYPE_PROTO__VALUE__NOT_SET) {
        if (required) {
            loader_err(L, "%s '%s' has no type", what, name);
            return false;
        }
        return true;
    }
    /* A subgraph's sequence and optional inputs and results are typed by
     * the passes, which lower them at build time (passes/seqlower.c). */
    if ((tp->value_case == ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE ||
         tp->value_case == ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE) &&
        L->sc->parent)
        return true;
    if (tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type) {
        loader_err(L, "%s '%s' is %s, not a tensor; only tensors are supported", what, name,
                   type_case_name(tp->value_case));
        return false;
    }
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    int32_t et = tt->has_elem_type ? tt->elem_type : 0;
    if (et == 0) {
        if (required) {
            loader_err(L, "%s '%s' has no element type", what, name);
            return false;
        }
    } else if (!dtype_supported(et) && et != HODU_DTYPE_STRING) { /* string values: yes; constants: no */
        loader_err(L, "%s '%s': element type %s (%d) is not supported", what, name, onnx_type_name(et), (int)et);
        return false;
    }
    const Onnx__TensorShapeProto *shape = tt->shape;
    if (shape && shape->n_dim > HODU_MAX_RANK) {
        loader_err(L, "%s '%s' has rank %zu; at most %d is supported", what, name, shape->n_dim, HODU_MAX_RANK);
        return false;
    }
    ir_value *val = ir_val(L->g, v);
    if (et != 0)
        val->dtype = (hodu_dtype)et;
    if (!shape) {
        val->rank = -1; /* rank unknown */
        return true;
    }
    val->rank = (int)shape->n_dim;
    for (size_t i = 0; i < shape->n_dim; i++) {
        const Onnx__TensorShapeProto__Dimension *dim = shape->dim[i];
        ir_dim *out = &val->dims[i];
        out->size = -1;
        out->sym = NULL;
        if (dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
            /* A negative dim_value (some old exporters wrote -1) is unknown. */
            if (dim->dim_value >= 0)
                out->size = dim->dim_value;
        } else if (dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM && dim->dim_param &&
                   *dim->dim_param) {
            /* Interning is a linear search, so the number of distinct
             * symbols is capped. */
            if (hd_strmap_get(&L->symbols, dim->dim_param) < 0) {
                if (L->symbols.len >= HODU_MAX_SYMBOLS) {
                    loader_err(L, "%s '%s': the model uses more than %d distinct dim names", what, name,
                               HODU_MAX_SYMBOLS);
                    return false;
                }
                hd_strmap_put(&L->symbols, dim->dim_param, 0);
            }
            out->sym = ir_graph_symbol(L->g, dim->dim_param);
        }
    }
    return true;
}

static bool load_value_type(loader *L, int v, const Onnx__ValueInfoProto *vi, const char *what, bool required)
{
    return load_type(L, v, vi->name, vi->type, what, required);
}

/* --- sequences and optionals at the model's inputs and outputs ----------
 * The compiled model takes and gives tensors only (hodu_abi.h,
 * hodu_value_desc): a sequence input x of n tensors becomes the inputs
 * "x[0]" .. "x[n-1]" and a SequenceConstruct of them, an optional input
 * its tensor or sequence, or nothing when absent (its readers then see an
 * omitted operand).  The length, the tensors' dims and an optional's
 * absence come from --input-shape (hodu_load_options). */

/* Scope map entry of an optional the build made absent: readers get -1. */
#define ABSENT_VALUE (-3)
/* Most tensors a sequence input may hold. */
#define SEQ_INPUT_MAX 1024

bool loader_is_value_binding(const char *arg)
{
    const char *eq = strrchr(arg, '=');
    return eq && (eq[1] == '[' || strcmp(eq + 1, "none") == 0);
}

/* The --input-shape text bound to `name` ("[2x3]", "none"), or NULL. */
static const char *value_binding(const loader *L, const char *name)
{
    const char *found = NULL;
    for (size_t i = 0; i < L->n_input_shapes; i++) {
        const char *a = L->input_shapes[i], *eq = strrchr(a, '=');
        if (eq && (size_t)(eq - a) == strlen(name) && strncmp(a, name, (size_t)(eq - a)) == 0)
            found = eq + 1;
    }
    return found;
}

/* The kind (HODU_VALUE_*) of a sequence or optional type, and the tensor
 * type its tensors have; 0 after reporting when it is neither, or holds
 * something other than tensors. */
static int io_kind(loader *L, const char *what, const char *name, const Onnx__TypeProto *tp,
                   const Onnx__TypeProto **elem)
{
    int kind = 0;
    const Onnx__TypeProto *t = NULL;
    if (tp->value_case == ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE && tp->sequence_type) {
        kind = HODU_VALUE_SEQUENCE;
        t = tp->sequence_type->elem_type;
    } else if (tp->value_case == ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE && tp->optional_type) {
        t = tp->optional_type->elem_type;
        kind = HODU_VALUE_OPTIONAL;
        if (t && t->value_case == ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE && t->sequence_type) {
            kind = HODU_VALUE_OPTIONAL_SEQUENCE;
            t = t->sequence_type->elem_type;
        }
    }
    if (!kind || !t || t->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !t->tensor_type) {
        loader_err(L, "%s '%s' is %s%s, not a tensor; only tensors, and sequences and optionals of them, are supported",
                   what, name, type_case_name(tp->value_case), kind ? " of something other than tensors" : "");
        return 0;
    }
    *elem = t;
    return kind;
}

static ir_io_value *add_io_value(ir_graph *g, const char *name, int kind, bool present, bool is_output)
{
    ir_io_value e = {hd_xstrdup(name), kind, present, is_output, false, NULL, 0};
    HD_PUSH(g->io_values, g->n_io_values, g->cap_io_values, e);
    return &g->io_values[g->n_io_values - 1];
}

/* Parses one tensor's dims of a sequence binding, "2x3" or "scalar", into
 * value v after checking them against its declared shape. */
static bool bind_item(loader *L, int v, const char *name, const char *text, size_t len)
{
    int64_t dims[HODU_MAX_RANK];
    int rank = 0;
    if (len == 0) {
        loader_err(L, "--input-shape %s=[...]: a tensor's dims are empty (write 'scalar' for a scalar)", name);
        return false;
    }
    if (!(len == 6 && strncmp(text, "scalar", 6) == 0)) {
        const char *p = text, *end = text + len;
        while (p < end) {
            char *stop;
            long long d = strtoll(p, &stop, 10);
            if (stop == p || stop > end || d < 0 || rank >= HODU_MAX_RANK || (stop < end && *stop != 'x')) {
                loader_err(L,
                           "--input-shape %s=[...]: '%.*s' is not DIMS (non-negative integers separated by 'x', "
                           "at most %d, or 'scalar')",
                           name, (int)len, text, HODU_MAX_RANK);
                return false;
            }
            dims[rank++] = d;
            p = stop < end ? stop + 1 : end;
        }
    }
    ir_value *val = ir_val(L->g, v);
    if (val->rank >= 0 && val->rank != rank) {
        loader_err(L, "--input-shape: '%s' has rank %d, but the model declares the tensors of '%s' rank %d", val->name,
                   rank, name, val->rank);
        return false;
    }
    for (int k = 0; k < rank && val->rank >= 0; k++)
        if (val->dims[k].size >= 0 && val->dims[k].size != dims[k]) {
            loader_err(L, "--input-shape: '%s' dim %d is %" PRId64 ", but the model declares %" PRId64, val->name, k,
                       dims[k], val->dims[k].size);
            return false;
        }
    val->rank = rank;
    for (int k = 0; k < rank; k++) {
        val->dims[k].size = dims[k];
        val->dims[k].sym = NULL;
    }
    return true;
}

/* A sequence or optional graph input: its tensors become graph inputs,
 * a sequence also the node that joins them (made once the model's nodes
 * are loaded: pending_seq). */
static bool load_io_input(loader *L, const Onnx__ValueInfoProto *vi)
{
    ir_graph *g = L->g;
    const Onnx__TypeProto *elem;
    int kind = io_kind(L, "graph input", vi->name, vi->type, &elem);
    if (!kind)
        return false;
    const char *bind = value_binding(L, vi->name);
    bool optional = kind != HODU_VALUE_SEQUENCE;
    if (bind && strcmp(bind, "none") == 0) {
        if (!optional) {
            loader_err(L, "--input-shape %s=none: graph input '%s' is a sequence, not an optional", vi->name, vi->name);
            return false;
        }
        add_io_value(g, vi->name, kind, false, false);
        hd_strmap_put(&L->sc->values, vi->name, ABSENT_VALUE);
        return true;
    }
    if (kind == HODU_VALUE_OPTIONAL) { /* its tensor, present */
        int v = ir_value_new(g, vi->name);
        ir_val(g, v)->kind = IR_VALUE_INPUT;
        ir_val(g, v)->loc = L->at;
        hd_strmap_put(&L->sc->values, ir_val(g, v)->name, v);
        HD_PUSH(g->inputs, g->n_inputs, g->cap_inputs, v);
        ir_io_value *e = add_io_value(g, vi->name, kind, true, false);
        e->items = hd_xmalloc(sizeof(int));
        e->items[0] = v;
        e->n_items = 1;
        return load_type(L, v, vi->name, elem, "graph input", true);
    }
    size_t len = bind ? strlen(bind) : 0;
    if (!bind || len < 2 || bind[0] != '[' || bind[len - 1] != ']') {
        loader_err(L,
                   "graph input '%s' is a%s sequence: give its length and its tensors' dims with --input-shape "
                   "%s=[DIMS,DIMS,...] (e.g. %s=[2x3,4x3]; %s=[] when empty%s)",
                   vi->name, optional ? "n optional" : "", vi->name, vi->name, vi->name,
                   optional ? ", none when absent" : "");
        return false;
    }
    ir_io_value *e = add_io_value(g, vi->name, kind, true, false);
    const char *p = bind + 1, *end = bind + len - 1;
    size_t n = 0;
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *stop = comma ? comma : end;
        if (n >= SEQ_INPUT_MAX) {
            loader_err(L, "--input-shape %s=[...]: more than %d tensors", vi->name, SEQ_INPUT_MAX);
            return false;
        }
        char *item = hd_xasprintf("%s[%zu]", vi->name, n);
        if (hd_strmap_get(&L->sc->values, item) != -1) {
            loader_err(L, "graph input '%s': its tensor '%s' has the name of another graph input", vi->name, item);
            free(item);
            return false;
        }
        int v = ir_value_new(g, item);
        free(item);
        hd_strmap_put(&L->sc->values, ir_val(g, v)->name, v);
        ir_val(g, v)->kind = IR_VALUE_INPUT;
        ir_val(g, v)->loc = L->at;
        HD_PUSH(g->inputs, g->n_inputs, g->cap_inputs, v);
        e = &g->io_values[g->n_io_values - 1];
        e->items = hd_xrealloc(e->items, (n + 1) * sizeof(int));
        e->items[n++] = v;
        e->n_items = n;
        if (!load_type(L, v, ir_val(g, v)->name, elem, "graph input", true) ||
            !bind_item(L, v, vi->name, p, (size_t)(stop - p)))
            return false;
        p = comma ? comma + 1 : end;
        if (comma && p == end) {
            loader_err(L, "--input-shape %s=[...]: a tensor's dims are empty (write 'scalar' for a scalar)", vi->name);
            return false;
        }
    }
    /* The sequence itself, a node output (its node comes later). */
    int s = ir_value_new(g, vi->name);
    ir_val(g, s)->loc = L->at;
    hd_strmap_put(&L->sc->values, ir_val(g, s)->name, s);
    if (elem->tensor_type->has_elem_type)
        ir_val(g, s)->dtype = (hodu_dtype)elem->tensor_type->elem_type;
    return true;
}

/* The SequenceConstruct (SequenceEmpty for none) of each sequence input,
 * once every --input-shape NAME=[...] and NAME=none is known to name one. */
static bool join_seq_inputs(loader *L)
{
    ir_graph *g = L->g;
    for (size_t i = 0; i < L->n_input_shapes; i++) {
        const char *a = L->input_shapes[i];
        if (!loader_is_value_binding(a))
            continue;
        size_t len = (size_t)(strrchr(a, '=') - a), k = 0;
        while (k < g->n_io_values && (g->io_values[k].is_output || strlen(g->io_values[k].name) != len ||
                                      strncmp(g->io_values[k].name, a, len) != 0))
            k++;
        if (k == g->n_io_values) {
            loader_err(L, "--input-shape %s: the model has no sequence or optional input '%.*s'%s", a, (int)len, a,
                       strchr(a + len, '[') ? " (a tensor's dims are written NAME=DxD)" : "");
            return false;
        }
    }
    for (size_t i = 0; i < g->n_io_values; i++) {
        const ir_io_value *e = &g->io_values[i];
        if (e->is_output || !e->present || e->kind == HODU_VALUE_OPTIONAL)
            continue;
        int s = hd_strmap_get(&L->sc->values, e->name);
        if (s < 0 || ir_val(g, s)->kind != IR_VALUE_NODE || ir_val(g, s)->producer >= 0) {
            loader_err(L, "graph input '%s' is also defined elsewhere", e->name);
            return false;
        }
        bool empty = e->n_items == 0;
        const char *op = empty ? "SequenceEmpty" : "SequenceConstruct";
        int id = ir_node_new(g, op, "", e->name, e->items, e->n_items, &s, 1);
        ir_node_set_loc(g, id, ir_val(g, s)->loc);
        ir_nd(g, id)->op = op_find("", op, g->opset < 11 ? 11 : g->opset);
        if (empty) {
            ir_attr *a = ir_node_add_attr(g, id, "dtype", IR_ATTR_INT);
            a->i = ir_val(g, s)->dtype;
        }
    }
    return true;
}

/* ------------------------------------------------------------------------ */
/* Attributes */

static ir_attr_kind attr_kind(const Onnx__AttributeProto *a)
{
    switch (a->has_type ? a->type : ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED) {
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT: return IR_ATTR_INT;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT: return IR_ATTR_FLOAT;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING: return IR_ATTR_STRING;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS: return IR_ATTR_INTS;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS: return IR_ATTR_FLOATS;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS: return IR_ATTR_STRINGS;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR: return IR_ATTR_TENSOR;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH:
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPHS: return IR_ATTR_GRAPH;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED: break;
    default: return IR_ATTR_OTHER;
    }
    /* Old models leave the type unset: go by the field that is present. */
    if (a->has_i)
        return IR_ATTR_INT;
    if (a->has_f)
        return IR_ATTR_FLOAT;
    if (a->has_s)
        return IR_ATTR_STRING;
    if (a->t)
        return IR_ATTR_TENSOR;
    if (a->g || a->n_graphs)
        return IR_ATTR_GRAPH;
    if (a->n_ints)
        return IR_ATTR_INTS;
    if (a->n_floats)
        return IR_ATTR_FLOATS;
    if (a->n_strings)
        return IR_ATTR_STRINGS;
    return IR_ATTR_OTHER;
}

static char *bytes_to_str(const ProtobufCBinaryData *b)
{
    return b->len ? hd_xstrndup((const char *)b->data, b->len) : hd_xstrdup("");
}

static bool load_graph(loader *L, Onnx__GraphProto *gp);

/* A new input of subgraph `sub` standing for value `outer` of graph `from`
 * (a captured operand): same name and type. */
static int capture_input(ir_graph *sub, const ir_graph *from, int outer)
{
    int v = ir_value_new(sub, ir_val(from, outer)->name);
    const ir_value *o = ir_val(from, outer);
    ir_value *nv = ir_val(sub, v);
    nv->kind = IR_VALUE_INPUT;
    nv->dtype = o->dtype;
    nv->rank = o->rank;
    for (int i = 0; i < o->rank && i < HODU_MAX_RANK; i++) {
        nv->dims[i].size = o->dims[i].size;
        nv->dims[i].sym = o->dims[i].sym ? ir_graph_symbol(sub, o->dims[i].sym) : NULL;
    }
    nv->loc = o->loc;
    HD_PUSH(sub->inputs, sub->n_inputs, sub->cap_inputs, v);
    return v;
}

/* The value `name` names in scope s: its own, or one an enclosing scope
 * defines, captured by the node that owns s (and so on outwards), so the
 * subgraph reads it as an input of its own.  -1 when no scope defines it,
 * -2 when a node on the way would pass HODU_MAX_NODE_IO inputs. */
static int resolve_name(scope *s, const char *name)
{
    int v = hd_strmap_get(&s->values, name);
    if (v >= 0 || !s->parent)
        return v;
    int outer = resolve_name(s->parent, name);
    if (outer < 0)
        return outer;
    ir_graph *pg = s->parent->g;
    ir_node *n = ir_nd(pg, s->owner);
    if (n->n_inputs >= HODU_MAX_NODE_IO)
        return -2;
    n->inputs = hd_xrealloc(n->inputs, (n->n_inputs + 1) * sizeof(int));
    n->inputs[n->n_inputs++] = outer;
    n->n_captures++;
    /* The node's subgraphs loaded before this one read it too. */
    for (size_t a = 0; a < n->n_attrs; a++)
        if (n->attrs[a].graph)
            capture_input(n->attrs[a].graph, pg, outer);
    v = capture_input(s->g, pg, outer);
    hd_strmap_put(&s->values, ir_val(s->g, v)->name, v);
    return v;
}

/* Loads the GRAPH attribute `attr` of node `node` (of the current graph) as
 * a subgraph in a scope of its own.  Returns it, or NULL after reporting. */
static ir_graph *load_subgraph(loader *L, int node, const Onnx__NodeProto *np, size_t index, Onnx__GraphProto *gp,
                               const char *attr)
{
    if (L->sc->depth >= HODU_MAX_SUBGRAPH_DEPTH) {
        node_err(L, np, index, "subgraph '%s' nests control flow more than %d levels deep", attr,
                 HODU_MAX_SUBGRAPH_DEPTH);
        return NULL;
    }
    ir_graph *sub = ir_graph_new(gp->name && *gp->name ? gp->name : attr, L->g->source);
    sub->opset = L->g->opset;
    sub->parent = L->g;
    sub->parent_node = node;
    scope sc = {.g = sub, .parent = L->sc, .owner = node, .depth = L->sc->depth + 1};
    ir_graph *outer = L->g;
    ir_loc at = L->at;
    L->sc = &sc;
    L->g = sub;
    bool ok = load_graph(L, gp);
    L->sc = sc.parent;
    L->g = outer;
    L->at = at;
    hd_strmap_free(&sc.values);
    if (!ok) {
        ir_graph_free(sub);
        return NULL;
    }
    return sub;
}

static bool load_attr(loader *L, int node, const Onnx__NodeProto *np, size_t index, Onnx__AttributeProto *a)
{
    if (ir_attr_find(ir_nd(L->g, node), a->name)) {
        node_err(L, np, index, "attribute '%s' is given twice", a->name);
        return false;
    }
    ir_attr_kind kind = attr_kind(a);
    bool is_graphs = a->has_type ? a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPHS : (!a->g && a->n_graphs);
    int tensor = -1;
    if (kind == IR_ATTR_TENSOR && a->t && a->t->has_data_type && a->t->data_type == HODU_DTYPE_STRING) {
        /* A tensor of strings (LabelEncoder's keys_tensor) has no place in
         * the weight blob: it becomes a list of strings, dims aside. */
        const Onnx__TensorProto *t = a->t;
        uint64_t numel = 1;
        for (size_t k = 0; k < t->n_dims; k++)
            numel = t->dims[k] >= 0 && numel <= UINT32_MAX ? numel * (uint64_t)t->dims[k] : UINT64_MAX;
        if (t->n_dims > 1 || numel != t->n_string_data || t->has_raw_data || t->n_external_data) {
            node_err(L, np, index,
                     "attribute '%s' is a string tensor that is not a list of its %zu strings (dims, raw or external "
                     "data)",
                     a->name, t->n_string_data);
            return false;
        }
        for (size_t i = 0; i < t->n_string_data; i++)
            if (t->string_data[i].len > HODU_MAX_STRING_BYTES) {
                node_err(L, np, index, "attribute '%s': string #%zu is %zu bytes long; at most %d are supported",
                         a->name, i, t->string_data[i].len, HODU_MAX_STRING_BYTES);
                return false;
            }
        ir_attr *at = ir_node_add_attr(L->g, node, a->name, IR_ATTR_STRINGS);
        at->n = t->n_string_data;
        if (at->n) {
            at->strings = hd_xmalloc(at->n * sizeof(char *));
            for (size_t i = 0; i < at->n; i++)
                at->strings[i] = bytes_to_str(&t->string_data[i]);
        }
        return true;
    }
    if (kind == IR_ATTR_TENSOR) {
        if (!a->t) {
            node_err(L, np, index, "attribute '%s' is a tensor attribute without a tensor", a->name);
            return false;
        }
        char *cname = hd_xasprintf("%s.%s", ir_nd(L->g, node)->name, a->name);
        tensor = load_tensor(L, a->t, cname);
        free(cname);
        if (tensor < 0)
            return false;
    }
    /* Fill the attribute right away: adding another one may move it. */
    ir_attr *at = ir_node_add_attr(L->g, node, a->name, kind);
    switch (kind) {
    case IR_ATTR_INT: at->i = a->i; break;
    case IR_ATTR_FLOAT: at->f = a->f; break;
    case IR_ATTR_STRING: at->s = bytes_to_str(&a->s); break;
    case IR_ATTR_INTS:
        at->n = a->n_ints;
        if (a->n_ints) {
            at->ints = hd_xmalloc(a->n_ints * sizeof(int64_t));
            memcpy(at->ints, a->ints, a->n_ints * sizeof(int64_t));
        }
        break;
    case IR_ATTR_FLOATS:
        at->n = a->n_floats;
        if (a->n_floats) {
            at->floats = hd_xmalloc(a->n_floats * sizeof(double));
            for (size_t i = 0; i < a->n_floats; i++)
                at->floats[i] = a->floats[i];
        }
        break;
    case IR_ATTR_STRINGS:
        at->n = a->n_strings;
        if (a->n_strings) {
            at->strings = hd_xmalloc(a->n_strings * sizeof(char *));
            for (size_t i = 0; i < a->n_strings; i++)
                at->strings[i] = bytes_to_str(&a->strings[i]);
        }
        break;
    case IR_ATTR_TENSOR: at->tensor = tensor; break;
    case IR_ATTR_GRAPH:
        if (is_graphs) {
            at->n = a->n_graphs;
            if (a->n_graphs) {
                at->strings = hd_xmalloc(a->n_graphs * sizeof(char *));
                for (size_t i = 0; i < a->n_graphs; i++)
                    at->strings[i] = hd_xstrdup(str_or_empty(a->graphs[i]->name));
            }
        } else {
            at->s = hd_xstrdup(a->g ? str_or_empty(a->g->name) : "");
            /* Loading it adds inputs to the node (captures), never
             * attributes, so `at` stays where it is. */
            if (a->g && !(at->graph = load_subgraph(L, node, np, index, a->g, a->name)))
                return false;
        }
        break;
    case IR_ATTR_OTHER: break;
    }
    return true;
}

/* ------------------------------------------------------------------------ */
/* The graph */

static bool load_opset(loader *L, const Onnx__ModelProto *m)
{
    bool found = false;
    int64_t version = 0;
    for (size_t i = 0; i < m->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = m->opset_import[i];
        const char *dom = str_or_empty(o->domain);
        if (strcmp(dom, "") != 0 && strcmp(dom, "ai.onnx") != 0)
            continue;
        int64_t v = o->has_version ? o->version : 0;
        if (found && v != version) {
            loader_err(L, "the model imports the default ONNX domain twice (opsets %" PRId64 " and %" PRId64 ")",
                       version, v);
            return false;
        }
        found = true;
        version = v;
    }
    if (!found && m->n_opset_import == 0) {
        loader_err(L, "the model imports no opset for the default ONNX domain");
        return false;
    }
    if (!found) {
        /* A model of other domains only (ai.onnx.ml, the training ops):
         * opset 0 records that a default-domain node is an error. */
        L->g->opset = 0;
        return true;
    }
    if (version < HODU_ONNX_MIN_OPSET) {
        loader_err(L, "opset %" PRId64 " is too old: opsets %d to %d are supported", version, HODU_ONNX_MIN_OPSET,
                   HODU_ONNX_MAX_OPSET);
        return false;
    }
    if (version > HODU_ONNX_MAX_OPSET) {
        loader_err(L, "opset %" PRId64 " is newer than supported: opsets %d to %d are supported", version,
                   HODU_ONNX_MIN_OPSET, HODU_ONNX_MAX_OPSET);
        return false;
    }
    L->g->opset = version;
    return true;
}

/* ------------------------------------------------------------------------ */
/* Limits (loader.h), checked in one pass over the message before any IR is
 * built, so that building stays linear and bounded. */

static bool name_too_long(const char *s)
{
    if (!s)
        return false;
    for (size_t i = 0; i <= HODU_MAX_NAME_BYTES; i++)
        if (!s[i])
            return false;
    return true;
}

static bool domain_is_internal(const char *dom)
{
    return strcmp(dom, HODU_INTERNAL_DOMAIN) == 0 ||
           strncmp(dom, HODU_INTERNAL_DOMAIN ".", strlen(HODU_INTERNAL_DOMAIN ".")) == 0;
}

static bool check_attr_limits(loader *L, const Onnx__NodeProto *np, size_t index, const Onnx__AttributeProto *a,
                              size_t k)
{
    if (name_too_long(a->name)) {
        L->at = onnx_loc(L, IR_LOC_ONNX_NODE, index);
        loader_err(L, "node #%zu: the name of attribute #%zu is longer than %d bytes", index, k, HODU_MAX_NAME_BYTES);
        return false;
    }
    const char *an = str_or_empty(a->name);
    size_t elems = a->n_ints > a->n_floats ? a->n_ints : a->n_floats;
    if (a->n_strings > elems)
        elems = a->n_strings;
    if (a->n_graphs > elems)
        elems = a->n_graphs;
    if (a->n_tensors > elems)
        elems = a->n_tensors;
    if (elems > HODU_MAX_ATTR_ELEMS) {
        node_err(L, np, index, "attribute '%s' has %zu elements; at most %d are supported", an, elems,
                 HODU_MAX_ATTR_ELEMS);
        return false;
    }
    if (a->has_s && a->s.len > HODU_MAX_STRING_BYTES) {
        node_err(L, np, index, "attribute '%s' is a string of %zu bytes; at most %d are supported", an, a->s.len,
                 HODU_MAX_STRING_BYTES);
        return false;
    }
    for (size_t i = 0; i < a->n_strings; i++)
        if (a->strings[i].len > HODU_MAX_STRING_BYTES) {
            node_err(L, np, index, "attribute '%s': string #%zu is %zu bytes long; at most %d are supported", an, i,
                     a->strings[i].len, HODU_MAX_STRING_BYTES);
            return false;
        }
    return true;
}

static bool check_limits(loader *L, const Onnx__GraphProto *gp)
{
    if (gp->n_node > HODU_MAX_NODES - L->total_nodes) {
        if (L->sc->parent)
            loader_err(L, "subgraph '%s' brings the model's nodes (in all its graphs) past %d", L->g->name,
                       HODU_MAX_NODES);
        else
            loader_err(L, "the graph has %zu nodes; at most %d are supported", gp->n_node, HODU_MAX_NODES);
        return false;
    }
    L->total_nodes += gp->n_node;
    if (gp->n_input > HODU_MAX_GRAPH_IO || gp->n_output > HODU_MAX_GRAPH_IO) {
        loader_err(L, "the graph has %zu inputs and %zu outputs; at most %d of each are supported", gp->n_input,
                   gp->n_output, HODU_MAX_GRAPH_IO);
        return false;
    }
    if (gp->n_initializer > HODU_MAX_INITIALIZERS) {
        loader_err(L, "the graph has %zu initializers; at most %d are supported", gp->n_initializer,
                   HODU_MAX_INITIALIZERS);
        return false;
    }
    for (size_t i = 0; i < gp->n_input; i++)
        if (name_too_long(gp->input[i]->name)) {
            L->at = onnx_loc(L, IR_LOC_ONNX_INPUT, i);
            loader_err(L, "the name of graph input #%zu is longer than %d bytes", i, HODU_MAX_NAME_BYTES);
            return false;
        }
    for (size_t i = 0; i < gp->n_output; i++)
        if (name_too_long(gp->output[i]->name)) {
            L->at = onnx_loc(L, IR_LOC_ONNX_OUTPUT, i);
            loader_err(L, "the name of graph output #%zu is longer than %d bytes", i, HODU_MAX_NAME_BYTES);
            return false;
        }
    for (size_t i = 0; i < gp->n_initializer; i++)
        if (name_too_long(gp->initializer[i]->name)) {
            L->at = onnx_loc(L, IR_LOC_ONNX_INITIALIZER, i);
            loader_err(L, "the name of initializer #%zu is longer than %d bytes", i, HODU_MAX_NAME_BYTES);
            return false;
        }
    /* Every value the graph will hold: inputs, initializers, node outputs and
     * tensor attributes, counted over every graph (subgraphs included).  The
     * sums cannot wrap: each term is bounded above. */
    size_t values = L->total_values + gp->n_input + gp->n_initializer, edges = L->total_edges;
    for (size_t n = 0; n < gp->n_node; n++) {
        const Onnx__NodeProto *np = gp->node[n];
        bool long_name = name_too_long(np->name) || name_too_long(np->op_type) || name_too_long(np->domain);
        for (size_t k = 0; k < np->n_input && !long_name; k++)
            long_name = name_too_long(np->input[k]);
        for (size_t k = 0; k < np->n_output && !long_name; k++)
            long_name = name_too_long(np->output[k]);
        if (long_name) {
            /* node_err would echo the long name: number the node instead. */
            L->at = onnx_loc(L, IR_LOC_ONNX_NODE, n);
            loader_err(L, "node #%zu: a name, op type, domain or operand name is longer than %d bytes", n,
                       HODU_MAX_NAME_BYTES);
            return false;
        }
        const char *dom = str_or_empty(np->domain);
        if (domain_is_internal(dom)) {
            node_err(L, np, n,
                     "domain '%s' is internal to the compiler: its ops are made by compiler passes "
                     "and cannot come from a model file",
                     dom);
            return false;
        }
        if (np->n_input > HODU_MAX_NODE_IO || np->n_output > HODU_MAX_NODE_IO) {
            node_err(L, np, n, "has %zu inputs and %zu outputs; at most %d of each are supported", np->n_input,
                     np->n_output, HODU_MAX_NODE_IO);
            return false;
        }
        if (np->n_attribute > HODU_MAX_NODE_ATTRS) {
            node_err(L, np, n, "has %zu attributes; at most %d are supported", np->n_attribute, HODU_MAX_NODE_ATTRS);
            return false;
        }
        for (size_t k = 0; k < np->n_attribute; k++) {
            if (!check_attr_limits(L, np, n, np->attribute[k], k))
                return false;
            if (np->attribute[k]->t)
                values++;
        }
        values += np->n_output;
        edges += np->n_input;
        if (values > HODU_MAX_VALUES) {
            loader_err(L, "the graph defines more than %d values", HODU_MAX_VALUES);
            return false;
        }
        if (edges > HODU_MAX_EDGES) {
            loader_err(L, "the graph's nodes read more than %d operands in all", HODU_MAX_EDGES);
            return false;
        }
    }
    L->total_values = values;
    L->total_edges = edges;
    return true;
}

/* Who defined value v, for "defined twice" messages. */
static char *value_origin(loader *L, int v, const Onnx__GraphProto *gp)
{
    const ir_value *val = ir_val(L->g, v);
    if (val->kind == IR_VALUE_INPUT)
        return hd_xstrdup("a graph input");
    if (val->kind == IR_VALUE_CONST)
        return hd_xstrdup("an initializer");
    int n = val->producer;
    if (n >= 0 && (size_t)n < gp->n_node) {
        char *name = node_name(gp->node[n], (size_t)n);
        char *s = hd_xasprintf("node '%s' (%s)", name, str_or_empty(gp->node[n]->op_type));
        free(name);
        return s;
    }
    return hd_xstrdup("another definition");
}

static bool load_graph(loader *L, Onnx__GraphProto *gp)
{
    ir_graph *g = L->g;
    if (!check_limits(L, gp))
        return false;

    /* Initializer names, so that inputs which are initializers (old IR
     * versions list every weight as an input) can be recognised. */
    hd_strmap inits = {0};
    bool ok = false;
    for (size_t i = 0; i < gp->n_initializer; i++) {
        const char *name = gp->initializer[i]->name;
        L->at = onnx_loc(L, IR_LOC_ONNX_INITIALIZER, i);
        if (!name || !*name) {
            loader_err(L, "initializer #%zu has no name", i);
            goto out;
        }
        if (hd_strmap_get(&inits, name) >= 0) {
            loader_err(L, "initializer '%s' is defined twice", name);
            goto out;
        }
        hd_strmap_put(&inits, name, (int)i);
    }
    memset(&L->at, 0, sizeof(L->at)); /* sparse ones have no place here */
    if (gp->n_sparse_initializer) {
        const Onnx__SparseTensorProto *s = gp->sparse_initializer[0];
        const char *name = (s->values && s->values->name) ? s->values->name : "";
        loader_err(L, "sparse initializer '%s': sparse initializers are not supported", name);
        goto out;
    }

    /* Run-time inputs. */
    for (size_t i = 0; i < gp->n_input; i++) {
        const Onnx__ValueInfoProto *vi = gp->input[i];
        L->at = onnx_loc(L, IR_LOC_ONNX_INPUT, i);
        if (!vi->name || !*vi->name) {
            loader_err(L, "graph input #%zu has no name", i);
            goto out;
        }
        if (hd_strmap_get(&inits, vi->name) >= 0)
            continue; /* a constant, created below */
        if (hd_strmap_get(&L->sc->values, vi->name) != -1) {
            loader_err(L, "graph input '%s' is listed twice", vi->name);
            goto out;
        }
        const Onnx__TypeProto *tp = vi->type;
        if (!L->sc->parent && tp &&
            (tp->value_case == ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE ||
             tp->value_case == ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE)) {
            if (!load_io_input(L, vi))
                goto out;
            continue;
        }
        int v = ir_value_new(g, vi->name);
        ir_val(g, v)->kind = IR_VALUE_INPUT;
        ir_val(g, v)->loc = L->at;
        hd_strmap_put(&L->sc->values, ir_val(g, v)->name, v);
        HD_PUSH(g->inputs, g->n_inputs, g->cap_inputs, v);
        /* A subgraph's inputs are typed by its node's op. */
        if (!load_value_type(L, v, vi, "graph input", L->sc->parent == NULL))
            goto out;
    }
    /* A subgraph gets the operands its node already captures for the
     * node's other subgraphs (ir.h, "Subgraphs"). */
    if (L->sc->parent) {
        const ir_graph *pg = L->sc->parent->g;
        const ir_node *owner = ir_nd(pg, L->sc->owner);
        for (size_t k = 0; k < owner->n_captures; k++) {
            int v = capture_input(g, pg, owner->inputs[owner->n_inputs - owner->n_captures + k]);
            if (hd_strmap_get(&L->sc->values, ir_val(g, v)->name) < 0)
                hd_strmap_put(&L->sc->values, ir_val(g, v)->name, v);
        }
    }

    /* Weights. */
    for (size_t i = 0; i < gp->n_initializer; i++) {
        Onnx__TensorProto *t = gp->initializer[i];
        L->at = onnx_loc(L, IR_LOC_ONNX_INITIALIZER, i);
        int v = load_tensor(L, t, t->name);
        if (v < 0)
            goto out;
        hd_strmap_put(&L->sc->values, ir_val(g, v)->name, v);
    }

    /* Node outputs first, so that inputs may refer to nodes listed later. */
    for (size_t n = 0; n < gp->n_node; n++) {
        const Onnx__NodeProto *np = gp->node[n];
        L->at = onnx_loc(L, IR_LOC_ONNX_NODE, n);
        if (!np->op_type || !*np->op_type) {
            loader_err(L, "node #%zu%s%s%s has no op_type", n, np->name && *np->name ? " '" : "",
                       np->name && *np->name ? np->name : "", np->name && *np->name ? "'" : "");
            goto out;
        }
        for (size_t k = 0; k < np->n_output; k++) {
            const char *oname = np->output[k];
            if (!oname || !*oname)
                continue;
            int prev = hd_strmap_get(&L->sc->values, oname);
            if (prev >= 0) {
                char *origin = value_origin(L, prev, gp);
                node_err(L, np, n, "output '%s' is already defined by %s", oname, origin);
                free(origin);
                goto out;
            }
            int v = ir_value_new(g, oname);
            ir_val(g, v)->producer = (int)n; /* ir_node_new sets the same */
            hd_strmap_put(&L->sc->values, ir_val(g, v)->name, v);
        }
    }

    /* Nodes. */
    for (size_t n = 0; n < gp->n_node; n++) {
        const Onnx__NodeProto *np = gp->node[n];
        /* The name as written ("" when unnamed; the IR name is then made
         * up, the index still points at the node). */
        L->at = onnx_loc(L, IR_LOC_ONNX_NODE, n);
        L->at.name = np->name && *np->name ? ir_graph_string(g, np->name) : "";
        int *ins = hd_xmalloc((np->n_input ? np->n_input : 1) * sizeof(int));
        int *outs = hd_xmalloc((np->n_output ? np->n_output : 1) * sizeof(int));
        bool node_ok = true;
        for (size_t k = 0; k < np->n_input; k++) {
            const char *iname = np->input[k];
            ins[k] = -1;
            if (!iname || !*iname)
                continue;
            ins[k] = resolve_name(L->sc, iname);
            if (ins[k] == ABSENT_VALUE) { /* an optional input the build made absent */
                if (strcmp(str_or_empty(np->op_type), "OptionalGetElement") == 0) {
                    node_err(L, np, n,
                             "reads the element of optional '%s', which this build makes absent (--input-shape "
                             "%s=none); there is none to read",
                             iname, iname);
                    node_ok = false;
                    break;
                }
                ins[k] = -1;
                continue;
            }
            if (ins[k] == -2) {
                node_err(L, np, n, "reading '%s' would give an enclosing control-flow node more than %d inputs", iname,
                         HODU_MAX_NODE_IO);
                node_ok = false;
                break;
            }
            if (ins[k] < 0) {
                node_err(L, np, n, "input '%s' is not defined (missing initializer?)", iname);
                node_ok = false;
                break;
            }
        }
        for (size_t k = 0; node_ok && k < np->n_output; k++) {
            const char *oname = np->output[k];
            outs[k] = (oname && *oname) ? hd_strmap_get(&L->sc->values, oname) : -1;
        }
        int id = -1;
        const char *dom = str_or_empty(np->domain);
        if (strcmp(dom, "ai.onnx") == 0)
            dom = "";
        if (node_ok && !*dom && g->opset == 0) {
            node_err(L, np, n, "op %s is in the default ONNX domain, for which the model imports no opset",
                     str_or_empty(np->op_type));
            node_ok = false;
        }
        if (node_ok) {
            char *name = node_name(np, n);
            id = ir_node_new(g, np->op_type, dom, name, ins, np->n_input, outs, np->n_output);
            ir_node_set_loc(g, id, L->at);
            free(name);
            ir_nd(g, id)->op = op_find(dom, np->op_type, g->opset);
        }
        free(ins);
        free(outs);
        if (!node_ok)
            goto out;
        for (size_t k = 0; k < np->n_attribute; k++) {
            Onnx__AttributeProto *a = np->attribute[k];
            if (!a->name || !*a->name) {
                node_err(L, np, n, "attribute #%zu has no name", k);
                goto out;
            }
            if (!load_attr(L, id, np, n, a))
                goto out;
        }
    }

    if (!L->sc->parent && !join_seq_inputs(L))
        goto out;

    /* Outputs. */
    for (size_t i = 0; i < gp->n_output; i++) {
        const Onnx__ValueInfoProto *vi = gp->output[i];
        L->at = onnx_loc(L, IR_LOC_ONNX_OUTPUT, i);
        if (!vi->name || !*vi->name) {
            loader_err(L, "graph output #%zu has no name", i);
            goto out;
        }
        int v = resolve_name(L->sc, vi->name);
        const Onnx__TypeProto *tp = vi->type;
        int kind = 0;
        const Onnx__TypeProto *elem = NULL;
        if (!L->sc->parent && tp &&
            (tp->value_case == ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE ||
             tp->value_case == ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE) &&
            !(kind = io_kind(L, "graph output", vi->name, tp, &elem)))
            goto out;
        if (v == ABSENT_VALUE && kind && kind != HODU_VALUE_SEQUENCE) { /* an absent optional passed through */
            add_io_value(g, vi->name, kind, false, true);
            continue;
        }
        if (v == -2) {
            loader_err(L, "graph output '%s' would give an enclosing control-flow node more than %d inputs", vi->name,
                       HODU_MAX_NODE_IO);
            goto out;
        }
        if (v < 0) {
            loader_err(L, "graph output '%s' is not defined by any node, graph input or initializer", vi->name);
            goto out;
        }
        if (ir_val(g, v)->is_output) {
            loader_err(L, "graph output '%s' is listed twice", vi->name);
            goto out;
        }
        ir_val(g, v)->is_output = true;
        HD_PUSH(g->outputs, g->n_outputs, g->cap_outputs, v);
        if (kind) {
            /* A sequence's tensors replace it once they are known
             * (pass_seq_outputs); an optional tensor is its tensor. */
            ir_io_value *e = add_io_value(g, vi->name, kind, true, true);
            e->items = hd_xmalloc(sizeof(int));
            e->items[0] = v;
            e->n_items = 1;
            if (kind == HODU_VALUE_OPTIONAL && ir_val(g, v)->kind == IR_VALUE_NODE &&
                !load_type(L, v, vi->name, elem, "graph output", false))
                goto out;
            continue;
        }
        if (ir_val(g, v)->kind == IR_VALUE_NODE) {
            if (!load_value_type(L, v, vi, "graph output", false))
                goto out;
        } else if (vi->type && vi->type->value_case != ONNX__TYPE_PROTO__VALUE__NOT_SET &&
                   vi->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE) {
            loader_err(L, "graph output '%s' is %s, not a tensor; only tensors are supported", vi->name,
                       type_case_name(vi->type->value_case));
            goto out;
        }
    }
    ok = true;
out:
    memset(&L->at, 0, sizeof(L->at));
    hd_strmap_free(&inits);
    return ok;
}

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return hd_xstrdup(".");
    if (slash == path)
        return hd_xstrdup("/");
    return hd_xstrndup(path, (size_t)(slash - path));
}

Onnx__ModelProto *loader_read_model(const char *path, size_t max_bytes, hd_diag *d)
{
    uint64_t default_limit = HODU_MAX_MODEL_BYTES;
    size_t limit = max_bytes ? max_bytes : default_limit > SIZE_MAX ? SIZE_MAX : (size_t)default_limit;
    size_t size = 0;
    uint8_t *bytes = hd_read_file(path, &size, limit, d);
    if (!bytes)
        return NULL;

    scan_result sr = scan_message(bytes, bytes + size, &onnx__model_proto__descriptor, 0);
    if (sr == SCAN_TOO_DEEP) {
        hd_error(d, "not a valid ONNX model (messages nested more than %d levels deep)", MAX_NESTING);
        free(bytes);
        return NULL;
    }
    Onnx__ModelProto *m = sr == SCAN_OK ? onnx__model_proto__unpack(NULL, size, bytes) : NULL;
    free(bytes);
    if (!m)
        hd_error(d, "not a valid ONNX model (protobuf parse failed)");
    return m;
}

ir_graph *hodu_load_onnx(const char *path, const hodu_load_options *opts, hd_diag *d)
{
    Onnx__ModelProto *m = loader_read_model(path, opts ? opts->max_file_bytes : 0, d);
    if (!m)
        return NULL;

    loader L;
    memset(&L, 0, sizeof(L));
    scope main_scope = {.owner = -1};
    L.d = d;
    if (opts) {
        L.input_shapes = opts->input_shapes;
        L.n_input_shapes = opts->n_input_shapes;
    }
    bool ok = false;
    if (!m->graph) {
        hd_error(d, "the model has no graph");
        goto out;
    }
    L.g = ir_graph_new(m->graph->name && *m->graph->name ? m->graph->name : "model", path);
    main_scope.g = L.g;
    L.sc = &main_scope;
    L.model_dir = dir_of(path);
    L.file = ir_graph_file(L.g, path);
    ok = load_opset(&L, m) && load_graph(&L, m->graph);
out:
    hd_strmap_free(&main_scope.values);
    hd_strmap_free(&L.symbols);
    free(L.model_dir);
    /* Adopted raw_data pointers were cleared, so this frees only the rest. */
    onnx__model_proto__free_unpacked(m, NULL);
    if (!ok) {
        ir_graph_free(L.g);
        return NULL;
    }
    return L.g;
}
