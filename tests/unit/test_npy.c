/*
 * test_npy.c - the .npy reader and writer of libhodu_rt, and tensor helpers.
 *
 * Files are written into a fresh temporary directory that the group teardown
 * removes.  Hand-built files imitate what numpy writes (and what a hostile
 * or damaged file might hold); each read must give the right status and, on
 * failure, leave the output tensor empty.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hodu_rt.h"

static char tmp_dir[256];

/* --- helpers ---------------------------------------------------------------- */

static void path_in_tmp(char *buf, size_t size, const char *name) { snprintf(buf, size, "%s/%s", tmp_dir, name); }

static void expect_message(const hodu_error *err, const char *needle)
{
    if (strstr(err->message, needle) == NULL) {
        print_error("error message \"%s\" does not contain \"%s\"\n", err->message, needle);
        fail();
    }
}

static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (n > 0)
        assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* Writes a .npy file by hand: magic, version major.0, the header length field
 * (2 or 4 bytes as the version says), `header` verbatim and `data_len` bytes
 * of a repeating pattern. */
static void write_raw_npy(const char *path, unsigned major, const char *header, size_t data_len)
{
    size_t hlen = strlen(header);
    size_t len_bytes = major == 1 ? 2 : 4;
    size_t total = 8 + len_bytes + hlen + data_len;
    unsigned char *buf = malloc(total);
    assert_non_null(buf);
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (unsigned char)major;
    buf[7] = 0;
    for (size_t i = 0; i < len_bytes; i++)
        buf[8 + i] = (unsigned char)(hlen >> (8 * i));
    memcpy(buf + 8 + len_bytes, header, hlen);
    for (size_t i = 0; i < data_len; i++)
        buf[8 + len_bytes + hlen + i] = (unsigned char)(i * 7 + 1);
    write_bytes(path, buf, total);
    free(buf);
}

/* Reads `path`, expects `want`, and on failure checks the tensor is empty. */
static hodu_error read_expect(const char *path, hodu_status want)
{
    hodu_error err;
    hodu_tensor t;
    memset(&t, 0x5a, sizeof t);
    hodu_status st = hodu_npy_read(path, &t, &err);
    if (st != want)
        print_error("reading %s gave %s (%s), wanted %s\n", path, hodu_status_string(st), err.message,
                    hodu_status_string(want));
    assert_int_equal(st, want);
    assert_int_equal(err.code, want);
    if (want != HODU_OK) {
        assert_null(t.data);
        assert_int_equal(t.nbytes, 0);
        assert_true(err.message[0] != '\0');
    }
    hodu_tensor_free(&t);
    return err;
}

static size_t count_dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *e;
    char path[512];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
            remove_tree(path);
        else
            unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

static int group_setup(void **state)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmp_dir, sizeof tmp_dir, "%s/hodu_npy_XXXXXX", base != NULL && base[0] != '\0' ? base : "/tmp");
    return mkdtemp(tmp_dir) != NULL ? 0 : -1;
}

static int group_teardown(void **state)
{
    remove_tree(tmp_dir);
    return 0;
}

/* Every dtype that numpy can store. */
static const hodu_dtype npy_dtypes[] = {
    HODU_DTYPE_F32, HODU_DTYPE_U8,   HODU_DTYPE_I8,  HODU_DTYPE_U16, HODU_DTYPE_I16, HODU_DTYPE_I32,
    HODU_DTYPE_I64, HODU_DTYPE_BOOL, HODU_DTYPE_F16, HODU_DTYPE_F64, HODU_DTYPE_U32, HODU_DTYPE_U64,
};

/* --- round trips ------------------------------------------------------------ */

/* Property: writing then reading gives back the same dtype, shape and bytes
 * for every numpy dtype and ranks 0..4, and the written file is a valid
 * version 1.0 file whose data starts at a multiple of 64 bytes after a
 * header ending in '\n'. */
static void test_round_trip_all_dtypes_and_ranks(void **state)
{
    static const int64_t dims[4] = {2, 3, 1, 4};
    char path[512];
    for (size_t k = 0; k < sizeof npy_dtypes / sizeof npy_dtypes[0]; k++) {
        for (int32_t rank = 0; rank <= 4; rank++) {
            hodu_dtype dt = npy_dtypes[k];
            hodu_error err;
            hodu_tensor t;
            assert_int_equal(hodu_tensor_alloc(&t, dt, rank, dims, &err), HODU_OK);
            unsigned char *b = t.data;
            for (size_t i = 0; i < t.nbytes; i++)
                b[i] = dt == HODU_DTYPE_BOOL ? (unsigned char)(i % 3 == 0) : (unsigned char)(i * 37 + k);
            snprintf(path, sizeof path, "%s/rt_%s_%d.npy", tmp_dir, hodu_dtype_name(dt), (int)rank);
            assert_int_equal(hodu_npy_write(path, &t, &err), HODU_OK);
            assert_int_equal(err.code, HODU_OK);

            /* Check the raw layout. */
            FILE *f = fopen(path, "rb");
            assert_non_null(f);
            unsigned char raw[1024];
            size_t n = fread(raw, 1, sizeof raw, f);
            fclose(f);
            assert_true(n >= 10);
            assert_memory_equal(raw, "\x93NUMPY\x01\x00", 8);
            size_t hlen = (size_t)raw[8] | (size_t)raw[9] << 8;
            assert_int_equal((10 + hlen) % 64, 0);
            assert_true(10 + hlen <= n);
            assert_int_equal(raw[10 + hlen - 1], '\n');
            assert_int_equal(n, 10 + hlen + t.nbytes);

            hodu_tensor back;
            assert_int_equal(hodu_npy_read(path, &back, &err), HODU_OK);
            assert_int_equal(back.dtype, dt);
            assert_int_equal(back.rank, rank);
            for (int32_t d = 0; d < rank; d++)
                assert_int_equal(back.dims[d], dims[d]);
            assert_int_equal(back.nbytes, t.nbytes);
            assert_memory_equal(back.data, t.data, t.nbytes);
            hodu_tensor_free(&back);
            hodu_tensor_free(&t);
        }
    }
}

/* Property: a tensor with a zero dim round-trips as an empty array. */
static void test_round_trip_zero_size(void **state)
{
    static const int64_t dims[2] = {0, 5};
    char path[512];
    path_in_tmp(path, sizeof path, "empty.npy");
    hodu_error err;
    hodu_tensor t;
    assert_int_equal(hodu_tensor_alloc(&t, HODU_DTYPE_F32, 2, dims, &err), HODU_OK);
    assert_int_equal(t.nbytes, 0);
    assert_int_equal(hodu_npy_write(path, &t, &err), HODU_OK);
    hodu_tensor back;
    assert_int_equal(hodu_npy_read(path, &back, &err), HODU_OK);
    assert_int_equal(back.rank, 2);
    assert_int_equal(back.dims[0], 0);
    assert_int_equal(back.dims[1], 5);
    assert_int_equal(back.nbytes, 0);
    hodu_tensor_free(&back);
    hodu_tensor_free(&t);
}

/* Property: writing over an existing file replaces it, and leaves no
 * temporary file next to it. */
static void test_write_replaces_existing(void **state)
{
    char sub[300], path[512];
    path_in_tmp(sub, sizeof sub, "replace");
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(path, sizeof path, "%s/a.npy", sub);
    write_bytes(path, "old contents", 12);
    static const int64_t dims[1] = {3};
    hodu_error err;
    hodu_tensor t;
    assert_int_equal(hodu_tensor_alloc(&t, HODU_DTYPE_I16, 1, dims, &err), HODU_OK);
    assert_int_equal(hodu_npy_write(path, &t, &err), HODU_OK);
    hodu_tensor back;
    assert_int_equal(hodu_npy_read(path, &back, &err), HODU_OK);
    assert_int_equal(back.dtype, HODU_DTYPE_I16);
    hodu_tensor_free(&back);
    hodu_tensor_free(&t);
    assert_int_equal(count_dir_entries(sub), 1);
}

/* --- files as numpy writes them ------------------------------------------ */

/* Property: a version 1.0 header with the keys in another order, extra
 * spaces, no trailing comma and a one-tuple shape "(3,)" is read. */
static void test_read_v1_odd_key_order(void **state)
{
    char path[512];
    path_in_tmp(path, sizeof path, "v1_order.npy");
    write_raw_npy(path, 1, "{ 'shape' : (3,) ,'fortran_order':False,  'descr':'<i4'}          \n", 12);
    hodu_error err;
    hodu_tensor t;
    assert_int_equal(hodu_npy_read(path, &t, &err), HODU_OK);
    assert_int_equal(t.dtype, HODU_DTYPE_I32);
    assert_int_equal(t.rank, 1);
    assert_int_equal(t.dims[0], 3);
    assert_int_equal(t.nbytes, 12);
    const unsigned char *b = t.data;
    for (size_t i = 0; i < 12; i++)
        assert_int_equal(b[i], (unsigned char)(i * 7 + 1));
    hodu_tensor_free(&t);
}

/* Property: a version 2.0 header (4-byte length) with double quotes, a
 * trailing comma in the dict and the shape, and '=' byte order is read. */
static void test_read_v2_trailing_commas(void **state)
{
    char path[512];
    path_in_tmp(path, sizeof path, "v2.npy");
    write_raw_npy(path, 2, "{\"descr\": \"=f8\", \"fortran_order\": False, \"shape\": (2, 2,), }\n", 32);
    hodu_error err;
    hodu_tensor t;
    assert_int_equal(hodu_npy_read(path, &t, &err), HODU_OK);
    assert_int_equal(t.dtype, HODU_DTYPE_F64);
    assert_int_equal(t.rank, 2);
    assert_int_equal(t.dims[0], 2);
    assert_int_equal(t.dims[1], 2);
    hodu_tensor_free(&t);
}

/* Property: version 3.0 files, a scalar shape "()", Python 2 long dims
 * "(2L, 3L)" and one-byte types with any byte-order mark are read; bools are
 * normalised to 0/1. */
static void test_read_v3_scalar_and_small_types(void **state)
{
    char path[512];
    hodu_error err;
    hodu_tensor t;

    path_in_tmp(path, sizeof path, "v3_scalar.npy");
    write_raw_npy(path, 3, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }\n", 4);
    assert_int_equal(hodu_npy_read(path, &t, &err), HODU_OK);
    assert_int_equal(t.rank, 0);
    assert_int_equal(t.nbytes, 4);
    hodu_tensor_free(&t);

    path_in_tmp(path, sizeof path, "py2_long.npy");
    write_raw_npy(path, 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (2L, 3L), }\n", 6);
    assert_int_equal(hodu_npy_read(path, &t, &err), HODU_OK);
    assert_int_equal(t.dtype, HODU_DTYPE_U8);
    assert_int_equal(t.dims[1], 3);
    hodu_tensor_free(&t);

    path_in_tmp(path, sizeof path, "bool.npy");
    write_raw_npy(path, 1, "{'descr': '<b1', 'fortran_order': False, 'shape': (5,), }\n", 5);
    assert_int_equal(hodu_npy_read(path, &t, &err), HODU_OK);
    assert_int_equal(t.dtype, HODU_DTYPE_BOOL);
    const unsigned char *b = t.data;
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(b[i], 1); /* the pattern bytes are all non-zero */
    hodu_tensor_free(&t);

    path_in_tmp(path, sizeof path, "i1_be.npy");
    write_raw_npy(path, 1, "{'descr': '>i1', 'fortran_order': False, 'shape': (2,), }\n", 2);
    assert_int_equal(hodu_npy_read(path, &t, &err), HODU_OK);
    assert_int_equal(t.dtype, HODU_DTYPE_I8);
    hodu_tensor_free(&t);
}

/* --- hostile and unsupported files --------------------------------------- */

/* Property: damaged preambles and headers are HODU_ERR_FORMAT, never a
 * crash: empty file, bad magic, only the magic, a header cut short, a header
 * length past the end of the file, and malformed dict text. */
static void test_hostile_headers(void **state)
{
    char path[512];
    hodu_error err;

    path_in_tmp(path, sizeof path, "empty_file.npy");
    write_bytes(path, "", 0);
    read_expect(path, HODU_ERR_FORMAT);

    path_in_tmp(path, sizeof path, "bad_magic.npy");
    write_bytes(path, "\x93NUMPX\x01\x00\x10\x00{}              ", 26);
    err = read_expect(path, HODU_ERR_FORMAT);
    expect_message(&err, "magic");

    path_in_tmp(path, sizeof path, "magic_only.npy");
    write_bytes(path, "\x93NUMPY\x01", 7);
    read_expect(path, HODU_ERR_FORMAT);

    path_in_tmp(path, sizeof path, "no_length.npy");
    write_bytes(path, "\x93NUMPY\x02\x00\x10\x00", 10);
    read_expect(path, HODU_ERR_FORMAT);

    /* The header length says 0x4000 bytes; the file ends well before. */
    path_in_tmp(path, sizeof path, "past_eof.npy");
    write_bytes(path, "\x93NUMPY\x01\x00\x00\x40{'descr': '<f4'", 25);
    err = read_expect(path, HODU_ERR_FORMAT);
    expect_message(&err, "16384");

    /* A version 2 length of nearly 4 GiB must not be allocated. */
    path_in_tmp(path, sizeof path, "huge_len.npy");
    write_bytes(path, "\x93NUMPY\x02\x00\xff\xff\xff\xff{}", 14);
    read_expect(path, HODU_ERR_FORMAT);

    static const char *const bad_dicts[] = {
        "",
        "{",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (3,)",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), } junk",
        "{'descr': '<f4', 'fortran_order': false, 'shape': (3,), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (3), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (-3,), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (3,,), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': [3], }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }",
        "{'descr': '<f4', 'fortran_order': False}",
        "{'descr': '<f4', 'shape': (3,), }",
        "{'fortran_order': False, 'shape': (3,), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'extra': 1}",
        "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (3,)}",
        "{'descr': '<f4, 'fortran_order': False, 'shape': (3,)}",
        "{'descr' '<f4', 'fortran_order': False, 'shape': (3,)}",
        "{,}",
        "{'descr': '|f4', 'fortran_order': False, 'shape': (3,), }",
    };
    for (size_t i = 0; i < sizeof bad_dicts / sizeof bad_dicts[0]; i++) {
        snprintf(path, sizeof path, "%s/bad_dict_%zu.npy", tmp_dir, i);
        write_raw_npy(path, 1, bad_dicts[i], 12);
        read_expect(path, HODU_ERR_FORMAT);
    }
}

/* Property: a shape whose data the file does not hold is HODU_ERR_FORMAT
 * naming the expected and the actual byte counts; shapes whose byte size
 * overflows are HODU_ERR_FORMAT too; all are refused before allocating. */
static void test_hostile_sizes(void **state)
{
    char path[512];
    hodu_error err;

    path_in_tmp(path, sizeof path, "short.npy");
    write_raw_npy(path, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n", 20);
    err = read_expect(path, HODU_ERR_FORMAT);
    expect_message(&err, "24");
    expect_message(&err, "20");

    path_in_tmp(path, sizeof path, "long.npy");
    write_raw_npy(path, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n", 28);
    err = read_expect(path, HODU_ERR_FORMAT);
    expect_message(&err, "28");

    /* Far more than the file holds, but representable. */
    path_in_tmp(path, sizeof path, "too_big.npy");
    write_raw_npy(path, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000, 1000000), }\n", 16);
    read_expect(path, HODU_ERR_FORMAT);

    /* numel overflows int64. */
    path_in_tmp(path, sizeof path, "overflow_numel.npy");
    write_raw_npy(path, 1,
                  "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4611686018427387904), }\n",
                  16);
    read_expect(path, HODU_ERR_FORMAT);

    /* numel fits in int64 but the byte count does not. */
    path_in_tmp(path, sizeof path, "overflow_bytes.npy");
    write_raw_npy(path, 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (9223372036854775807,), }\n", 16);
    read_expect(path, HODU_ERR_FORMAT);

    /* A zero dim next to a huge one is an empty array, not an overflow. */
    path_in_tmp(path, sizeof path, "zero_and_huge.npy");
    write_raw_npy(path, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 9223372036854775807), }\n", 0);
    read_expect(path, HODU_OK);
}

/* Property: valid files this runtime does not handle are
 * HODU_ERR_UNSUPPORTED with a message: big-endian data, Fortran order,
 * format version 4.0, rank above HODU_MAX_RANK, complex and structured
 * dtypes. */
static void test_unsupported_files(void **state)
{
    char path[512];
    hodu_error err;

    path_in_tmp(path, sizeof path, "big_endian.npy");
    write_raw_npy(path, 1, "{'descr': '>f4', 'fortran_order': False, 'shape': (3,), }\n", 12);
    err = read_expect(path, HODU_ERR_UNSUPPORTED);
    expect_message(&err, "big-endian");

    path_in_tmp(path, sizeof path, "fortran.npy");
    write_raw_npy(path, 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }\n", 24);
    err = read_expect(path, HODU_ERR_UNSUPPORTED);
    expect_message(&err, "Fortran");

    path_in_tmp(path, sizeof path, "v4.npy");
    write_raw_npy(path, 4, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }\n", 12);
    err = read_expect(path, HODU_ERR_UNSUPPORTED);
    expect_message(&err, "4.0");

    path_in_tmp(path, sizeof path, "rank9.npy");
    write_raw_npy(path, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }\n", 4);
    read_expect(path, HODU_ERR_UNSUPPORTED);

    path_in_tmp(path, sizeof path, "complex.npy");
    write_raw_npy(path, 1, "{'descr': '<c8', 'fortran_order': False, 'shape': (3,), }\n", 24);
    err = read_expect(path, HODU_ERR_UNSUPPORTED);
    expect_message(&err, "<c8");

    path_in_tmp(path, sizeof path, "structured.npy");
    write_raw_npy(path, 1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (3,), }\n", 12);
    read_expect(path, HODU_ERR_UNSUPPORTED);
}

/* Property: every truncation of a valid file, and every single-byte change
 * to its preamble and header, is read without a crash or a leak: either an
 * error with an empty tensor, or a tensor whose size matches its shape. */
static void test_truncations_and_mutations(void **state)
{
    static const int64_t dims[2] = {3, 5};
    char good[512], bad[512];
    path_in_tmp(good, sizeof good, "fuzz_src.npy");
    path_in_tmp(bad, sizeof bad, "fuzz.npy");
    hodu_error err;
    hodu_tensor t;
    assert_int_equal(hodu_tensor_alloc(&t, HODU_DTYPE_I16, 2, dims, &err), HODU_OK);
    assert_int_equal(hodu_npy_write(good, &t, &err), HODU_OK);
    hodu_tensor_free(&t);

    unsigned char raw[256];
    FILE *f = fopen(good, "rb");
    assert_non_null(f);
    size_t n = fread(raw, 1, sizeof raw, f);
    fclose(f);
    size_t header_end = 10 + ((size_t)raw[8] | (size_t)raw[9] << 8);
    assert_int_equal(n, header_end + 30);

    for (size_t cut = 0; cut < n; cut++) {
        write_bytes(bad, raw, cut);
        assert_int_not_equal(hodu_npy_read(bad, &t, &err), HODU_OK);
        assert_null(t.data);
    }
    static const unsigned char values[] = {0x00, 0x01, 0x7f, 0x80, 0xff, '\'', '(', ')', ',', '9', ' ', '}'};
    unsigned char copy[256];
    for (size_t pos = 0; pos < header_end; pos++) {
        for (size_t v = 0; v < sizeof values; v++) {
            memcpy(copy, raw, n);
            copy[pos] = values[v];
            write_bytes(bad, copy, n);
            hodu_status st = hodu_npy_read(bad, &t, &err);
            if (st == HODU_OK) {
                int64_t numel = hodu_shape_numel(t.rank, t.dims);
                assert_true(numel >= 0);
                assert_int_equal(t.nbytes, (size_t)numel * hodu_dtype_size(t.dtype));
            } else {
                assert_null(t.data);
            }
            hodu_tensor_free(&t);
        }
    }
}

/* Property: a missing file, a directory or a FIFO (read without waiting for
 * a writer) is HODU_ERR_IO naming the path; NULL arguments are
 * HODU_ERR_INVALID_ARG. */
static void test_read_io_errors(void **state)
{
    char path[512];
    hodu_error err;
    hodu_tensor t;
    path_in_tmp(path, sizeof path, "does_not_exist.npy");
    err = read_expect(path, HODU_ERR_IO);
    expect_message(&err, "does_not_exist.npy");
    read_expect(tmp_dir, HODU_ERR_IO);
    char fifo[512];
    path_in_tmp(fifo, sizeof fifo, "fifo.npy");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    read_expect(fifo, HODU_ERR_IO);
    assert_int_equal(hodu_npy_read(NULL, &t, &err), HODU_ERR_INVALID_ARG);
    assert_int_equal(hodu_npy_read(path, NULL, &err), HODU_ERR_INVALID_ARG);
    assert_int_equal(hodu_npy_read(path, &t, NULL), HODU_ERR_IO); /* err may be NULL */
}

/* --- writing errors -------------------------------------------------------- */

/* Property: a write that cannot be done is HODU_ERR_IO and leaves nothing
 * behind: into a directory that does not exist, and onto a path that is a
 * directory (the rename fails and the temporary file is removed). */
static void test_write_failure_leaves_nothing(void **state)
{
    static const int64_t dims[1] = {4};
    char sub[300], path[512];
    hodu_error err;
    hodu_tensor t;
    assert_int_equal(hodu_tensor_alloc(&t, HODU_DTYPE_F32, 1, dims, &err), HODU_OK);

    path_in_tmp(sub, sizeof sub, "wfail");
    assert_int_equal(mkdir(sub, 0700), 0);

    snprintf(path, sizeof path, "%s/no_such_dir/x.npy", sub);
    assert_int_equal(hodu_npy_write(path, &t, &err), HODU_ERR_IO);
    assert_int_equal(err.code, HODU_ERR_IO);
    expect_message(&err, "no_such_dir/x.npy");
    assert_int_equal(count_dir_entries(sub), 0);

    snprintf(path, sizeof path, "%s/is_a_dir", sub);
    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(hodu_npy_write(path, &t, &err), HODU_ERR_IO);
    expect_message(&err, "rename");
    assert_int_equal(count_dir_entries(sub), 1); /* only the directory */
    hodu_tensor_free(&t);
}

/* Property: types numpy lacks (bfloat16, the narrow types) are written as
 * raw bytes ('<V2', '|V1') and read back only as a type of that width the
 * caller names; a plain read, a wrong width or a type numpy has is an
 * error naming the file. */
static void test_raw_byte_types(void **state)
{
    (void)state;
    static const int64_t dims[2] = {2, 3};
    static const struct {
        hodu_dtype dtype, wrong;
    } cases[] = {{HODU_DTYPE_BF16, HODU_DTYPE_F8E4M3FN},
                 {HODU_DTYPE_F8E4M3FN, HODU_DTYPE_BF16},
                 {HODU_DTYPE_I4, HODU_DTYPE_U8},
                 {HODU_DTYPE_F8E5M2, HODU_DTYPE_F16}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char path[512];
        path_in_tmp(path, sizeof path, "raw.npy");
        hodu_error err;
        hodu_tensor t, back;
        assert_int_equal(hodu_tensor_alloc(&t, cases[c].dtype, 2, dims, &err), HODU_OK);
        for (size_t i = 0; i < t.nbytes; i++)
            ((unsigned char *)t.data)[i] = (unsigned char)(17 * i + c);
        assert_int_equal(hodu_npy_write(path, &t, &err), HODU_OK);
        assert_int_equal(hodu_npy_read(path, &back, &err), HODU_ERR_UNSUPPORTED);
        expect_message(&err, "raw bytes");
        expect_message(&err, path);
        assert_int_equal(hodu_npy_read_as(path, cases[c].wrong, &back, &err), HODU_ERR_UNSUPPORTED);
        assert_int_equal(hodu_npy_read_as(path, cases[c].dtype, &back, &err), HODU_OK);
        assert_int_equal(back.dtype, cases[c].dtype);
        assert_int_equal(back.rank, 2);
        assert_int_equal(back.nbytes, t.nbytes);
        assert_memory_equal(back.data, t.data, t.nbytes);
        hodu_tensor_free(&back);
        hodu_tensor_free(&t);
        unlink(path);
    }
}

/* Property: numpy unicode arrays ('<U<n>') read as UTF-8 strings and
 * string tensors write back to the same text, as wide as the longest
 * element; code units that are no Unicode character, a data length that
 * disagrees, widths past the limit and invalid UTF-8 on writing are
 * errors naming the file (and writing leaves no file behind). */
static void test_unicode_strings(void **state)
{
    (void)state;
    char path[512];
    path_in_tmp(path, sizeof path, "u.npy");
    hodu_error err;
    static const char *const text[4] = {"a", "",
                                        "\xe4\xb8\xad"
                                        "x",
                                        "\xf0\x9f\x98\x80"};
    static const int64_t dims[2] = {2, 2};
    hodu_tensor t, back;
    assert_int_equal(hodu_tensor_alloc(&t, HODU_DTYPE_STRING, 2, dims, &err), HODU_OK);
    hodu_string *el = t.data;
    for (int i = 0; i < 4; i++) {
        el[i].data = text[i];
        el[i].size = strlen(text[i]);
    }
    assert_int_equal(hodu_npy_write(path, &t, &err), HODU_OK);
    assert_int_equal(hodu_npy_read(path, &back, &err), HODU_OK);
    assert_int_equal(back.dtype, HODU_DTYPE_STRING);
    assert_int_equal(back.rank, 2);
    assert_int_equal(back.nbytes, 4 * sizeof(hodu_string));
    const hodu_string *got = back.data;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(got[i].size, strlen(text[i]));
        assert_memory_equal(got[i].data, text[i], strlen(text[i]));
    }
    hodu_tensor_free(&back);
    /* the header says '<U2': "中x" is the longest, two code points */
    FILE *f = fopen(path, "rb");
    char head[128] = {0};
    assert_non_null(f);
    assert_true(fread(head, 1, sizeof head - 1, f) > 0);
    fclose(f);
    assert_non_null(strstr(head + 10, "'<U2'"));
    el[1].data = "\xc0\x80"; /* an overlong NUL */
    el[1].size = 2;
    unlink(path);
    assert_int_equal(hodu_npy_write(path, &t, &err), HODU_ERR_FORMAT);
    expect_message(&err, "UTF-8");
    assert_int_equal(access(path, F_OK), -1);
    hodu_tensor_free(&t);

    /* hand-made files: code units 'a', a surrogate, past U+10FFFF */
    static const uint32_t bad[3] = {0x61, 0xD800, 0x110000};
    for (int k = 1; k < 3; k++) {
        unsigned char buf[128];
        const char *h = "{'descr': '<U2', 'fortran_order': False, 'shape': (1,), }\n";
        size_t hl = strlen(h);
        memcpy(buf, "\x93NUMPY\x01\x00", 8);
        buf[8] = (unsigned char)hl;
        buf[9] = 0;
        memcpy(buf + 10, h, hl);
        uint32_t units[2] = {bad[0], bad[k]};
        for (int u = 0; u < 2; u++)
            for (int b = 0; b < 4; b++)
                buf[10 + hl + (size_t)u * 4 + (size_t)b] = (unsigned char)(units[u] >> (8 * b));
        write_bytes(path, buf, 10 + hl + 8);
        hodu_error e = read_expect(path, HODU_ERR_FORMAT);
        expect_message(&e, "no Unicode character");
        expect_message(&e, path);
    }
    /* big-endian and a trailing-NUL-padded element */
    {
        unsigned char buf[128];
        const char *h = "{'descr': '>U3', 'fortran_order': False, 'shape': (), }\n";
        size_t hl = strlen(h);
        memcpy(buf, "\x93NUMPY\x01\x00", 8);
        buf[8] = (unsigned char)hl;
        buf[9] = 0;
        memcpy(buf + 10, h, hl);
        memset(buf + 10 + hl, 0, 12);
        buf[10 + hl + 3] = 'O';
        buf[10 + hl + 7] = 'K';
        write_bytes(path, buf, 10 + hl + 12);
        assert_int_equal(hodu_npy_read(path, &back, &err), HODU_OK);
        assert_int_equal(back.rank, 0);
        got = back.data;
        assert_int_equal(got[0].size, 2);
        assert_memory_equal(got[0].data, "OK", 2);
        hodu_tensor_free(&back);
    }
    write_raw_npy(path, 1, "{'descr': '<U2', 'fortran_order': False, 'shape': (3,), }\n", 20);
    expect_message((hodu_error[]){read_expect(path, HODU_ERR_FORMAT)}, "data bytes");
    write_raw_npy(path, 1, "{'descr': '<U99999999999', 'fortran_order': False, 'shape': (0,), }\n", 0);
    read_expect(path, HODU_ERR_UNSUPPORTED);
    write_raw_npy(path, 1, "{'descr': '<U1x', 'fortran_order': False, 'shape': (1,), }\n", 4);
    read_expect(path, HODU_ERR_UNSUPPORTED);
    write_raw_npy(path, 1, "{'descr': '<U0', 'fortran_order': False, 'shape': (100000,), }\n", 0);
    read_expect(path, HODU_ERR_UNSUPPORTED); /* no memory for a file of nothing */
    write_raw_npy(path, 1, "{'descr': '<U0', 'fortran_order': False, 'shape': (0,), }\n", 0);
    read_expect(path, HODU_OK);
    unlink(path);
}

/* Property: tensors that cannot be written are refused before any file is
 * created: string (numpy has no such dtype), a buffer smaller than the
 * shape, NULL data, a bad rank, NULL arguments. */
static void test_write_bad_tensors(void **state)
{
    char sub[300], path[512];
    hodu_error err;
    path_in_tmp(sub, sizeof sub, "wbad");
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(path, sizeof path, "%s/t.npy", sub);

    static const int64_t dims[1] = {4};
    hodu_tensor t;
    assert_int_equal(hodu_tensor_alloc(&t, HODU_DTYPE_BF16, 1, dims, &err), HODU_OK);
    t.dtype = (hodu_dtype)99;
    assert_int_equal(hodu_npy_write(path, &t, &err), HODU_ERR_UNSUPPORTED);
    t.dtype = HODU_DTYPE_STRING; /* 64 bytes needed, 8 held */
    assert_int_equal(hodu_npy_write(path, &t, &err), HODU_ERR_INVALID_ARG);
    t.dtype = HODU_DTYPE_F32; /* 16 bytes needed, 8 held */
    assert_int_equal(hodu_npy_write(path, &t, &err), HODU_ERR_INVALID_ARG);
    t.dtype = HODU_DTYPE_U16;
    t.rank = HODU_MAX_RANK + 1;
    assert_int_equal(hodu_npy_write(path, &t, &err), HODU_ERR_INVALID_ARG);
    t.rank = 1;
    t.dims[0] = -1;
    assert_int_equal(hodu_npy_write(path, &t, &err), HODU_ERR_INVALID_ARG);
    t.dims[0] = 4;
    void *data = t.data;
    t.data = NULL;
    assert_int_equal(hodu_npy_write(path, &t, &err), HODU_ERR_INVALID_ARG);
    t.data = data;
    assert_int_equal(hodu_npy_write(NULL, &t, &err), HODU_ERR_INVALID_ARG);
    assert_int_equal(hodu_npy_write(path, NULL, &err), HODU_ERR_INVALID_ARG);
    assert_int_equal(count_dir_entries(sub), 0);
    assert_int_equal(hodu_npy_write(path, &t, NULL), HODU_OK); /* err may be NULL */
    assert_int_equal(count_dir_entries(sub), 1);
    hodu_tensor_free(&t);
}

/* --- tensors ----------------------------------------------------------------- */

/* Property: hodu_tensor_alloc returns zeroed, HODU_ABI_ALIGN-aligned memory
 * of exactly the shape's size, refuses sizes that overflow (NOMEM), dtypes
 * without a size, bad ranks and negative dims; a failed alloc leaves the
 * tensor empty; hodu_tensor_free is NULL-safe and idempotent. */
static void test_tensor_alloc_and_free(void **state)
{
    hodu_error err;
    hodu_tensor t;
    static const int64_t dims[3] = {2, 3, 5};
    assert_int_equal(hodu_tensor_alloc(&t, HODU_DTYPE_F64, 3, dims, &err), HODU_OK);
    assert_int_equal(t.nbytes, 2 * 3 * 5 * 8);
    assert_int_equal((uintptr_t)t.data % HODU_ABI_ALIGN, 0);
    const unsigned char *b = t.data;
    for (size_t i = 0; i < t.nbytes; i++)
        assert_int_equal(b[i], 0);
    hodu_tensor_free(&t);
    assert_null(t.data);
    assert_int_equal(t.nbytes, 0);
    hodu_tensor_free(&t);
    hodu_tensor_free(NULL);

    assert_int_equal(hodu_tensor_alloc(&t, HODU_DTYPE_U8, 0, NULL, &err), HODU_OK);
    assert_int_equal(t.nbytes, 1);
    hodu_tensor_free(&t);

    static const int64_t huge[2] = {INT64_MAX / 2, 3};
    assert_int_equal(hodu_tensor_alloc(&t, HODU_DTYPE_U8, 2, huge, &err), HODU_ERR_NOMEM);
    assert_null(t.data);
    static const int64_t big[2] = {INT64_MAX / 4, 2};
    assert_int_equal(hodu_tensor_alloc(&t, HODU_DTYPE_I64, 2, big, &err), HODU_ERR_NOMEM);
    assert_int_equal(hodu_tensor_alloc(&t, HODU_DTYPE_STRING, 3, dims, &err), HODU_OK);
    assert_int_equal(t.nbytes, 3 * sizeof(hodu_string) * (size_t)(dims[0] * dims[1] * dims[2]) / 3);
    hodu_tensor_free(&t);
    assert_int_equal(hodu_tensor_alloc(&t, (hodu_dtype)99, 3, dims, &err), HODU_ERR_UNSUPPORTED);
    assert_int_equal(hodu_tensor_alloc(&t, HODU_DTYPE_F32, HODU_MAX_RANK + 1, dims, &err), HODU_ERR_INVALID_ARG);
    assert_int_equal(hodu_tensor_alloc(&t, HODU_DTYPE_F32, -1, dims, &err), HODU_ERR_INVALID_ARG);
    assert_int_equal(hodu_tensor_alloc(&t, HODU_DTYPE_F32, 2, NULL, &err), HODU_ERR_INVALID_ARG);
    static const int64_t neg[2] = {2, -1};
    assert_int_equal(hodu_tensor_alloc(&t, HODU_DTYPE_F32, 2, neg, &err), HODU_ERR_INVALID_ARG);
    assert_int_equal(hodu_tensor_alloc(NULL, HODU_DTYPE_F32, 2, dims, &err), HODU_ERR_INVALID_ARG);
    assert_null(t.data);
    hodu_tensor_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_all_dtypes_and_ranks),
        cmocka_unit_test(test_round_trip_zero_size),
        cmocka_unit_test(test_write_replaces_existing),
        cmocka_unit_test(test_read_v1_odd_key_order),
        cmocka_unit_test(test_read_v2_trailing_commas),
        cmocka_unit_test(test_read_v3_scalar_and_small_types),
        cmocka_unit_test(test_hostile_headers),
        cmocka_unit_test(test_hostile_sizes),
        cmocka_unit_test(test_unsupported_files),
        cmocka_unit_test(test_truncations_and_mutations),
        cmocka_unit_test(test_read_io_errors),
        cmocka_unit_test(test_write_failure_leaves_nothing),
        cmocka_unit_test(test_write_bad_tensors),
        cmocka_unit_test(test_raw_byte_types),
        cmocka_unit_test(test_unicode_strings),
        cmocka_unit_test(test_tensor_alloc_and_free),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
